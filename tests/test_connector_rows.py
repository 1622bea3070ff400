"""connector.rows: rows go to the driver's executemany and read back exactly as SQLAlchemy's own insert writes them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.dialects import sqlite

from connector.rows import executemany, sqlite_utc
from retour.models import Activity, Opportunity, UTCDateTime

PARIS = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize("value", [
    dt.datetime(2024, 7, 1, 9, 15, 2, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 7, 1, 9, 15, 2, 123000, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 7, 1, 0, 30, 0, 5, tzinfo=PARIS),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc),
    None,
])
def test_sqlite_datetimes_are_stored_in_sqlalchemys_own_format(value):
    dialect = sqlite.dialect()
    assert sqlite_utc(value) == UTCDateTime().dialect_impl(dialect).bind_processor(dialect)(value)


def test_naive_datetimes_are_refused_like_the_model_refuses_them():
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc(dt.datetime(2024, 7, 1, 9, 15))


def _opportunity(i: int, **over) -> dict:
    row = {"id": f"006Hs00001ABC{i:03d}AX", "system_modstamp": dt.datetime(2024, 7, 1, 9, i, tzinfo=dt.timezone.utc),
           "created_date": None, "name": f"Deal {i}", "account_id": None, "owner_id": "005Hs00000Own01AAA",
           "stage": "Closed Lost", "is_closed": True, "is_won": False, "amount": Decimal("1250.50"), "currency": "EUR",
           "close_date": dt.date(2024, 6, 30), "loss_reason": "Price", "loss_detail": None, "competitor": None,
           "region": None, "segment": None, "attributes": {"speaks_basque": i % 2 == 0}}
    return {**row, **over}


def test_upsert_reads_back_like_a_core_insert_and_updates_only_the_given_columns(session):
    stamp = dt.datetime(2024, 7, 2, 8, 0, tzinfo=dt.timezone.utc)
    executemany(session, Opportunity.__table__, [{**_opportunity(i), "synced_at": stamp} for i in range(3)],
                conflict_key="id")
    session.execute(insert(Opportunity.__table__), [{**_opportunity(9), "synced_at": stamp}])
    rows = {o.id: o for o in session.scalars(select(Opportunity))}
    fast, core = rows[_opportunity(0)["id"]], rows[_opportunity(9)["id"]]
    for column in Opportunity.__table__.columns:
        if column.name not in ("id", "name", "system_modstamp", "attributes"):
            assert getattr(fast, column.name) == getattr(core, column.name), column.name
    assert fast.system_modstamp == dt.datetime(2024, 7, 1, 9, 0, tzinfo=dt.timezone.utc)
    assert rows[_opportunity(2)["id"]].attributes == {"speaks_basque": True} and fast.amount == Decimal("1250.50")

    executemany(session, Opportunity.__table__, [{"id": _opportunity(1)["id"], "stage": "Closed Won"}],
                conflict_key="id")
    session.expire_all()
    updated = session.get(Opportunity, _opportunity(1)["id"])
    assert updated.stage == "Closed Won" and updated.name == "Deal 1" and updated.synced_at == stamp


def test_columns_left_out_get_their_python_defaults(session):
    before = dt.datetime.now(dt.timezone.utc)
    executemany(session, Activity.__table__, [{"id": "00THs00000Tsk01AAA", "kind": "Task"}])
    task = session.get(Activity, "00THs00000Tsk01AAA")
    assert task.is_closed is False and task.synced_at >= before.replace(microsecond=0)
