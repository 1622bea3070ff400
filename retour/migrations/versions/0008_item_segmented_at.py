"""item segmented_at, segment indexes for the figures: a theme pass's cost follows what is new

Revision ID: 0008_item_segmented_at
Revises: 0007_segment_pass_indexes

Finding the items no pass has cut was an anti-join of every item against the segments, so each incremental pass read both tables whole
(bench/themes_scale.py). Items that already have segments are stamped now; items without any (empty text) are cut
once more by the next pass, which stamps them. ``segmented_hash`` names the text the segments were cut from, so
that a pass that cut a text the sync changed meanwhile leaves it for the next pass to cut again.

The figures join evidence to items through the clause and count the items holding feedback: two indexes let
both answer without reading the clause rows, which carry the vectors.
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
    op.add_column('feedback_item', sa.Column('segmented_hash', sa.String(length=64), nullable=True))
    op.execute("UPDATE feedback_item SET segmented_at = CURRENT_TIMESTAMP, segmented_hash = text_hash "
               "WHERE EXISTS (SELECT 1 FROM feedback_segment WHERE feedback_segment.item_id = feedback_item.id)")
    op.create_index('ix_feedback_item_unsegmented', 'feedback_item', ['id'], unique=False,
                    sqlite_where=sa.text('segmented_at IS NULL'), postgresql_where=sa.text('segmented_at IS NULL'))
    op.drop_index('ix_feedback_segment_item_id', table_name='feedback_segment')
    op.create_index('ix_feedback_segment_item_id', 'feedback_segment', ['item_id', 'is_feedback'], unique=False)
    op.create_index('ix_feedback_segment_id_item', 'feedback_segment', ['id', 'item_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_feedback_segment_id_item', table_name='feedback_segment')
    op.drop_index('ix_feedback_segment_item_id', table_name='feedback_segment')
    op.create_index('ix_feedback_segment_item_id', 'feedback_segment', ['item_id'], unique=False)
    op.drop_index('ix_feedback_item_unsegmented', table_name='feedback_item')
    op.drop_column('feedback_item', 'segmented_hash')
    op.drop_column('feedback_item', 'segmented_at')
