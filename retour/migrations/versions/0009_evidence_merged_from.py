"""theme_evidence.merged_from_id: a merge can be undone

Revision ID: 0009_evidence_merged_from
Revises: 0008_item_segmented_at

A merge moved the source theme's evidence under the target and kept no trace of where each row came from, so a
wrong merge could not be taken back. The column names the theme a merge brought a row from while it stands where
the merge put it; rows moved by merges made before this revision carry none (those merges cannot be undone).
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_evidence_merged_from'
down_revision = '0008_item_segmented_at'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch "move and copy" of theme_evidence on SQLite would drop the table (see 0003 and 0008).
    # No foreign key for the same reason (SQLite adds none in place); themes are never deleted, only dismissed.
    op.add_column('theme_evidence', sa.Column('merged_from_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('theme_evidence', 'merged_from_id')
