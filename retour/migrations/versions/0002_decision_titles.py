"""decision titles: the human-written title reps read, per language

Revision ID: 0002_decision_titles
Revises: 0001_initial

Nullable because decisions recorded before this revision have none; approval refuses such a draft until
someone edits it and writes the titles, so no existing row needs a made-up value here.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_decision_titles'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_en', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('title_fr', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_column('title_fr')
        batch_op.drop_column('title_en')
