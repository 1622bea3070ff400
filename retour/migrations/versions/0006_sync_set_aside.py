"""sync set aside: a record the sync could not store is kept aside with its reason, and the sync goes on

Revision ID: 0006_sync_set_aside
Revises: 0005_session_epoch
"""
from alembic import op
import sqlalchemy as sa
import retour.models
from sqlalchemy.dialects import postgresql

revision = '0006_sync_set_aside'
down_revision = '0005_session_epoch'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_set_aside',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_name', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('record', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', retour.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', retour.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_set_aside')),
    sa.UniqueConstraint('object_name', 'record_id', name=op.f('uq_sync_set_aside_object_name_record_id'))
    )
    op.create_index(op.f('ix_sync_set_aside_last_seen_at'), 'sync_set_aside', ['last_seen_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sync_set_aside_last_seen_at'), table_name='sync_set_aside')
    op.drop_table('sync_set_aside')
