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
