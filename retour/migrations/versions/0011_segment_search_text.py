"""feedback_segment.search_text: the evidence search finds "sécurité" from "securite" and "SÉCURITÉ"

Revision ID: 0011_segment_search_text
Revises: 0010_theme_version

The search compared the clause with ILIKE, which on SQLite folds ASCII case only, and on neither database accents:
a French product owner typing "securite" or "equipe" found nothing. Each clause now keeps its text folded in Python
(retour.folding.fold), the same way on both databases, and the search compares that copy with a plain LIKE. The
rows already cut are folded here, a bounded batch at a time in id order, so a large table is never read whole.
"""
from alembic import op
import sqlalchemy as sa

from retour.folding import fold

revision = '0011_segment_search_text'
down_revision = '0010_theme_version'
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    # Plain ADD COLUMN with a server default: in place on SQLite too (a batch "move and copy" of feedback_segment
    # would drop the table, and with foreign keys on, every piece of evidence with it; see 0003 and 0008).
    op.add_column('feedback_segment', sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    backfill(op.get_bind())


def backfill(conn: sa.Connection, batch: int = BATCH) -> int:
    """Fold every clause's text into ``search_text``, ``batch`` rows a statement; return how many were written."""
    segments = sa.table('feedback_segment', sa.column('id', sa.Integer()), sa.column('text', sa.Text()),
                        sa.column('search_text', sa.Text()))
    write = (sa.update(segments).where(segments.c.id == sa.bindparam('b_id'))
             .values(search_text=sa.bindparam('b_folded')))
    after, done = None, 0
    while True:
        page = sa.select(segments.c.id, segments.c.text).order_by(segments.c.id).limit(batch)
        rows = conn.execute(page if after is None else page.where(segments.c.id > after)).all()
        if not rows:
            return done
        conn.execute(write, [{'b_id': r.id, 'b_folded': fold(r.text or '')} for r in rows])
        after, done = rows[-1].id, done + len(rows)


def downgrade() -> None:
    op.drop_column('feedback_segment', 'search_text')
