"""segment pass indexes: the theme pass finds unprocessed segments and "not feedback" verdicts by index

Revision ID: 0007_segment_pass_indexes
Revises: 0006_sync_set_aside

Without them every incremental pass walked the whole feedback_segment table (its rows carry their vectors) to
find the few new rows and mark them, so a pass over 1,000 new items grew with the corpus (bench/themes_scale.py).
The first index is partial: only rows no pass has looked at, which the pass keeps few.
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_segment_pass_indexes'
down_revision = '0006_sync_set_aside'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_feedback_segment_unprocessed', 'feedback_segment', ['id'], unique=False,
                    sqlite_where=sa.text('processed_at IS NULL'), postgresql_where=sa.text('processed_at IS NULL'))
    op.create_index('ix_feedback_segment_person_verdict', 'feedback_segment', ['person_verdict', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_feedback_segment_person_verdict', table_name='feedback_segment')
    op.drop_index('ix_feedback_segment_unprocessed', table_name='feedback_segment')
