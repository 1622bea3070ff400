import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from retour.db import current_revision, head_revision
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
            conn.execute(text("INSERT INTO feedback_item (id, source_object, source_id, source_field, channel, text,"
                              " text_hash, lang, occurred_at, created_at, updated_at) VALUES (1, 'Task', 't1',"
                              " 'description', 'note', 'no SSO', 'h', 'en', '2026-01-01', '2026-01-01', '2026-01-01')"))
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
