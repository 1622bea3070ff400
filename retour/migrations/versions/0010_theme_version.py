"""theme.version: a theme pass and a person's act never overwrite each other

Revision ID: 0010_theme_version
Revises: 0009_evidence_merged_from

A pass reads the active themes, works for seconds to minutes, then writes their centres, counts and status. A
product owner who merged or dismissed one of them meanwhile had their act overwritten (a merged theme came back to
the board, emptied). The column is SQLAlchemy's version counter: an UPDATE names the version it read, and matches
nothing once another transaction changed the row.
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_theme_version'
down_revision = '0009_evidence_merged_from'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with a server default: every existing row starts at version 1, in place on SQLite too.
    op.add_column('theme', sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    op.drop_column('theme', 'version')
