"""session epoch: logout, a new password or a new role ends every open session of the account

Revision ID: 0005_session_epoch
Revises: 0004_currency_rates

A plain ADD COLUMN (never a batch rebuild of app_user: decisions, curation events and settings point at it).
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_session_epoch'
down_revision = '0004_currency_rates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('app_user', sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    op.drop_column('app_user', 'session_epoch')
