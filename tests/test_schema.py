import contextlib
import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from retour.db import current_revision, head_revision
from retour.folding import fold
from retour.models import Account, Base, JobRun, Opportunity


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models.py and the migrations differ: {diff}"


def test_database_is_at_head(engine):
    assert current_revision(engine) == head_revision()


def test_timestamps_come_back_timezone_aware_utc(session):
    paris = dt.timezone(dt.timedelta(hours=2))
    session.add(JobRun(job="sync", started_at=dt.datetime(2026, 6, 1, 12, 0, tzinfo=paris)))
    session.flush()
    session.expire_all()
    run = session.scalars(select(JobRun)).one()
    assert run.started_at == dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.timezone.utc)
    assert run.started_at.utcoffset() == dt.timedelta(0)


def test_naive_timestamp_is_refused(session):
    session.add(JobRun(job="sync", started_at=dt.datetime(2026, 6, 1, 12, 0)))
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_salesforce_id_is_unique_per_table(session):
    session.add(Account(id="001000000000001AAA", name="Acme"))
    session.flush()
    session.add(Account(id="001000000000001AAA", name="Acme again"))
    with pytest.raises(Exception):
        session.flush()


def test_mapped_org_fields_round_trip_as_typed_json(session):
    session.add(Opportunity(id="006000000000001AAA", name="Deal", attributes={"speaks_basque": True, "tier": "Gold"}))
    session.flush()
    session.expire_all()
    opp = session.get(Opportunity, "006000000000001AAA")
    assert opp.attributes == {"speaks_basque": True, "tier": "Gold"}


def _old_item(conn, text_: str, lang: str) -> None:
    """Feedback item 1, written with the columns every revision since the first has."""
    from sqlalchemy import text

    conn.execute(text("INSERT INTO feedback_item (id, source_object, source_id, source_field, channel, text, text_hash,"
                      " lang, occurred_at, created_at, updated_at) VALUES (1, 'Task', 't1', 'description', 'note',"
                      " :text, 'h', :lang, '2026-01-01', '2026-01-01', '2026-01-01')"), {"text": text_, "lang": lang})


def test_upgrading_a_filled_sqlite_database_keeps_every_theme_evidence_and_decision(tmp_path):
    """Each revision since the first, on an SQLite file holding themes, evidence, proposals and decisions.

    A batch "move and copy" of the theme table on SQLite drops it, and with foreign keys on (as Retour's engines
    have them) that cascades to every row pointing at it: this test fails on such a migration. PostgreSQL alters
    tables in place, so a separate SQLite file is the case that matters, whatever database the suite runs on.
    """
    from sqlalchemy import text

    from retour.db import make_engine, upgrade

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(eng, "0001_initial")
        with eng.begin() as conn:
            _old_item(conn, "no SSO", "en")
            conn.execute(text("INSERT INTO feedback_segment (id, item_id, position, text, lang, is_feedback)"
                              " VALUES (1, 1, 0, 'no SSO', 'en', true)"))
            conn.execute(text("INSERT INTO theme (id, label, status, threshold_offset, created_at, updated_at, metrics,"
                              " score) VALUES (1, 'sso', 'emerging', 0, '2026-01-01', '2026-01-01', '{}', 0)"))
            conn.execute(text("INSERT INTO theme_evidence (id, theme_id, segment_id, similarity, state, origin, pinned,"
                              " created_at) VALUES (1, 1, 1, 0.5, 'active', 'auto', false, '2026-01-01')"))
            conn.execute(text("INSERT INTO theme_proposal (id, kind, theme_id, payload, status, created_at)"
                              " VALUES (1, 'rename', 1, '{}', 'open', '2026-01-01')"))
            conn.execute(text("INSERT INTO decision (id, theme_id, status, state, created_at, updated_at)"
                              " VALUES (1, 1, 'planned', 'draft', '2026-01-01', '2026-01-01')"))
            conn.execute(text("INSERT INTO feedback_item (id, source_object, source_id, source_field, channel, text,"
                              " text_hash, lang, occurred_at, created_at, updated_at) VALUES (2, 'Task', 't2',"
                              " 'description', 'note', 'rappeler', 'h2', 'fr', '2026-01-01', '2026-01-01',"
                              " '2026-01-01')"))
        upgrade(eng)
        with eng.connect() as conn:
            counts = [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                      for t in ("theme", "theme_evidence", "theme_proposal", "decision", "feedback_segment")]
            origin = conn.execute(text("SELECT origin FROM theme")).scalar()
            stamps = conn.execute(text("SELECT id, segmented_at IS NOT NULL, segmented_hash FROM feedback_item"
                                       " ORDER BY id")).all()
        assert counts == [1, 1, 1, 1, 1]
        assert origin == "discovered"
        # An item already cut is stamped with the text it was cut from; one never cut waits for the next pass.
        assert [tuple(r) for r in stamps] == [(1, 1, "h"), (2, 0, None)]
    finally:
        eng.dispose()


def test_every_way_a_clause_is_written_keeps_its_folded_copy(session):
    """The search reads ``search_text`` only: the theme pass's bulk insert and an ORM object both fill it."""
    from sqlalchemy import insert

    from jobs.themes import segment_new_items
    from retour.models import FeedbackItem, FeedbackSegment

    at = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    note = FeedbackItem(source_object="Task", source_id="00T000000000001SRC", source_field="description",
                        channel="note", text="La sécurité du SSO bloque l’équipe.", text_hash="hs", lang="fr",
                        occurred_at=at)
    other = FeedbackItem(source_object="Task", source_id="00T000000000002SRC", source_field="description",
                         channel="note", text="x", text_hash="hx", lang="fr", occurred_at=at)
    session.add_all([note, other])
    session.flush()
    segment_new_items(session, use_filter=False)
    made = FeedbackSegment(item_id=other.id, position=5, text="Straße")
    session.execute(insert(FeedbackSegment), [{"item_id": other.id, "position": 6, "text": "CŒUR de métier"}])
    session.add(made)
    session.flush()
    made.text = "Œuvre"
    session.flush()
    session.expire_all()
    rows = session.execute(select(FeedbackSegment.text, FeedbackSegment.search_text)).all()
    assert rows and all(folded == fold(written) for written, folded in rows), rows
    assert {"coeur de metier", "oeuvre"} <= {folded for _, folded in rows}
    assert any("securite du sso" in folded for _, folded in rows)


def _search_text_migration():
    from alembic.script import ScriptDirectory

    from retour.db import MIGRATIONS

    return ScriptDirectory(str(MIGRATIONS)).get_revision("0011_segment_search_text").module


def test_upgrading_folds_the_clauses_already_cut_so_the_search_finds_them_without_accents(tmp_path):
    """Clauses cut before revision 0011 are searched through the folded copy it adds: it must hold their text."""
    from sqlalchemy import text

    from retour.db import make_engine, upgrade
    from retour.models import FeedbackSegment

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(eng, "0010_theme_version")
        with eng.begin() as conn:
            _old_item(conn, "x", "fr")
            for i, clause in enumerate(["Sécurité renforcée", "L’ÉQUIPE financière", "no SSO"]):
                conn.execute(text("INSERT INTO feedback_segment (id, item_id, position, text, lang, is_feedback)"
                                  " VALUES (:id, 1, :pos, :text, 'fr', true)"),
                             {"id": 10 + i, "pos": i, "text": clause})
        upgrade(eng)
        with eng.connect() as conn:
            folded = conn.execute(text("SELECT search_text FROM feedback_segment ORDER BY id")).scalars().all()
            found = conn.execute(select(FeedbackSegment.id).where(FeedbackSegment.search_text.like("%securite%"))
                                 ).scalars().all()
        assert folded == ["securite renforcee", "l'equipe financiere", "no sso"] and found == [10]
    finally:
        eng.dispose()


def test_the_backfill_reads_the_clauses_a_bounded_batch_at_a_time_in_id_order(connection):
    """Any id gaps, any database: every row is folded once, pages of ``batch`` rows, never the table whole."""
    from sqlalchemy import text

    connection.execute(text("INSERT INTO feedback_item (id, source_object, source_id, source_field, channel, text,"
                            " text_hash, lang, occurred_at, created_at, updated_at) VALUES (900001, 'Task',"
                            " 'tb1', 'description', 'note', 'x', 'hb', 'fr', '2026-01-01', '2026-01-01',"
                            " '2026-01-01')"))
    clauses = {900003: "Équipe", 900004: "ÉQUIPE", 900010: "Straße", 900042: "cœur", 900100: "100 %"}
    for pos, (sid, clause) in enumerate(clauses.items()):
        connection.execute(text("INSERT INTO feedback_segment (id, item_id, position, text, lang, is_feedback)"
                                " VALUES (:id, 900001, :pos, :text, 'fr', true)"),
                           {"id": sid, "pos": pos, "text": clause})
    statements: list[str] = []
    with _recording(connection, statements):
        written = _search_text_migration().backfill(connection, batch=2)
    rows = dict(connection.execute(text("SELECT id, search_text FROM feedback_segment WHERE item_id = 900001")).all())
    assert written == 5 and rows == {900003: "equipe", 900004: "equipe", 900010: "strasse", 900042: "coeur",
                                     900100: "100 %"}
    assert sum(s.lstrip().upper().startswith("SELECT") for s in statements) == 4  # 2 + 2 + 1, then an empty page


@contextlib.contextmanager
def _recording(connection, statements: list[str]):
    from sqlalchemy import event

    def record(conn, cursor, statement, *args):  # noqa: ANN001 - SQLAlchemy's event signature
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(connection, "before_cursor_execute", record)


def test_a_new_sqlite_database_and_its_wal_are_readable_by_their_owner_only(tmp_path):
    import stat

    from sqlalchemy import text

    from retour.db import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'data' / 'retour.db'}")
    try:
        with eng.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        for name in ("retour.db", "retour.db-wal"):
            mode = stat.S_IMODE((tmp_path / "data" / name).stat().st_mode)
            assert mode & 0o077 == 0, f"{name} is {oct(mode)}"
    finally:
        eng.dispose()
