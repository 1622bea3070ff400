"""themes learned from people: a person's verdict on a segment, per-language labels, example sentences

Revision ID: 0003_themes_learned
Revises: 0002_decision_titles

Every curation act is a label the theme pass learns from: `feedback_segment.person_verdict` keeps "not
feedback" (and "is feedback"), `theme_example` keeps the sentences a product owner wrote to define a theme,
`theme.origin` tells a person's theme from a proposed one. `theme.label_en` / `label_fr` hold a name per
language; existing themes keep their one label, copied to neither column (nobody wrote it in a language).
"""
from alembic import op
import sqlalchemy as sa
import retour.models

revision = '0003_themes_learned'
down_revision = '0002_decision_titles'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on every backend. A batch "move and copy" of `theme` on SQLite drops the old table, and
    # with foreign keys on that cascades to every evidence row, proposal and decision: never rebuild it here.
    op.add_column('feedback_segment', sa.Column('person_verdict', sa.Boolean(), nullable=True))
    op.add_column('theme', sa.Column('label_en', sa.String(length=200), nullable=True))
    op.add_column('theme', sa.Column('label_fr', sa.String(length=200), nullable=True))
    # The server default fills existing rows; new rows get theirs from the model.
    op.add_column('theme', sa.Column('origin', sa.String(length=12), nullable=False, server_default='discovered'))
    op.create_table('theme_example',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.Column('embedding_model', sa.String(length=40), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', retour.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_theme_example_created_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], name=op.f('fk_theme_example_theme_id_theme'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_example'))
    )
    with op.batch_alter_table('theme_example', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_example_theme_id'), ['theme_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('theme_example', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_example_theme_id'))
    op.drop_table('theme_example')
    # DROP COLUMN in place (SQLite >= 3.35): no table rebuild, so no cascade (see upgrade).
    op.drop_column('theme', 'origin')
    op.drop_column('theme', 'label_fr')
    op.drop_column('theme', 'label_en')
    op.drop_column('feedback_segment', 'person_verdict')
