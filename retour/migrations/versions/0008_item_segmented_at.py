"""item segmented_at: the theme pass finds the items it has not cut into clauses by index

Revision ID: 0008_item_segmented_at
Revises: 0007_segment_pass_indexes

Finding them was an anti-join of every item against the segments, so each incremental pass read both tables whole
(bench/themes_scale.py). Items that already have segments are stamped now; items without any (empty text) are cut
once more by the next pass, which stamps them.
"""
from alembic import op
import sqlalchemy as sa
import retour.models

revision = '0008_item_segmented_at'
down_revision = '0007_segment_pass_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch "move and copy" of feedback_item on SQLite would drop the table, and with foreign
    # keys on, every segment and its evidence with it.
    op.add_column('feedback_item', sa.Column('segmented_at', retour.models.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE feedback_item SET segmented_at = CURRENT_TIMESTAMP "
               "WHERE EXISTS (SELECT 1 FROM feedback_segment WHERE feedback_segment.item_id = feedback_item.id)")
    op.create_index('ix_feedback_item_unsegmented', 'feedback_item', ['id'], unique=False,
                    sqlite_where=sa.text('segmented_at IS NULL'), postgresql_where=sa.text('segmented_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_feedback_item_unsegmented', table_name='feedback_item')
    op.drop_column('feedback_item', 'segmented_at')
