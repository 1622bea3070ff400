"""the org's currency rates: CurrencyType and DatedConversionRate, mirrored

Revision ID: 0004_currency_rates
Revises: 0003_themes_learned

A theme's revenue adds opportunities written in EUR, GBP, CHF and USD: each amount is converted into the
reporting currency with the org's own rates before it is added (jobs.figures). Two new tables only; no existing
table is altered.
"""
from alembic import op
import sqlalchemy as sa
import retour.models

revision = '0004_currency_rates'
down_revision = '0003_themes_learned'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('currency_type',
    sa.Column('iso_code', sa.String(length=3), nullable=False),
    sa.Column('conversion_rate', sa.Numeric(precision=18, scale=9), nullable=False),
    sa.Column('is_corporate', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=18), nullable=False),
    sa.Column('system_modstamp', retour.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_date', retour.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', retour.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_currency_type'))
    )
    op.create_index(op.f('ix_currency_type_iso_code'), 'currency_type', ['iso_code'], unique=False)
    op.create_table('dated_conversion_rate',
    sa.Column('iso_code', sa.String(length=3), nullable=False),
    sa.Column('conversion_rate', sa.Numeric(precision=18, scale=9), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('next_start_date', sa.Date(), nullable=True),
    sa.Column('id', sa.String(length=18), nullable=False),
    sa.Column('system_modstamp', retour.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_date', retour.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', retour.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dated_conversion_rate'))
    )
    op.create_index('ix_dated_conversion_rate_iso_code_start_date', 'dated_conversion_rate', ['iso_code', 'start_date'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_dated_conversion_rate_iso_code_start_date', table_name='dated_conversion_rate')
    op.drop_table('dated_conversion_rate')
    op.drop_index(op.f('ix_currency_type_iso_code'), table_name='currency_type')
    op.drop_table('currency_type')
