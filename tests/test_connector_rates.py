"""The org's exchange rates at the wire (responses): CurrencyType and DatedConversionRate are read whole every run,
rows the org dropped go, and a single-currency org (no such objects) syncs without them."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from decimal import Decimal

import pytest
import responses
from responses.registries import OrderedRegistry
from sqlalchemy import select

from connector.client import OrgClient
from connector.sync import run_sync
from retour.models import CurrencyType, DatedConversionRate, SyncState

from tests.connector_helpers import BASE, INSTANCE, LIMIT, Sleeps, error, wipe

QUERY = f"{BASE}/query/"
STAMP = "2026-03-01T10:00:00.000+0000"


@pytest.fixture
def session_factory(engine):
    """Real commits (the sync commits per object), wiped after each test."""
    from sqlalchemy.orm import sessionmaker
    wipe(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    wipe(engine)


@pytest.fixture
def settings(make_settings):
    return make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                          "sync": {"objects": ["CurrencyType", "DatedConversionRate"], "max_retries": 2}})


def _page(sobject: str, records: list[dict]) -> dict:
    return {"totalSize": len(records), "done": True,
            "records": [{"attributes": {"type": sobject, "url": f"/services/data/v59.0/sobjects/{sobject}/{r['Id']}"},
                         "CreatedDate": STAMP, "SystemModstamp": STAMP, **r} for r in records]}


def _currency(i: int, code: str, rate: float, corporate: bool = False) -> dict:
    return {"Id": f"01L5e00000000{i:02d}AAA", "IsoCode": code, "ConversionRate": rate, "IsCorporate": corporate,
            "IsActive": True}


def _dated(i: int, code: str, rate: float, start: str, nxt: str) -> dict:
    return {"Id": f"04w5e00000000{i:02d}AAA", "IsoCode": code, "ConversionRate": rate, "StartDate": start,
            "NextStartDate": nxt}


def _objects(call) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(call.request.url).query)["q"][0].split(" FROM ")[1].split()[0]


CURRENCIES = [_currency(1, "EUR", 1.0, corporate=True), _currency(2, "GBP", 0.86)]
RATES = [_dated(1, "GBP", 0.85, "2026-01-01", "2026-04-01"), _dated(2, "GBP", 0.87, "2026-04-01", "9999-12-31")]


def test_rates_are_read_whole_each_run_and_a_period_the_org_dropped_goes(session_factory, settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=_page("CurrencyType", CURRENCIES), headers=LIMIT)
        rsps.get(QUERY, json=_page("DatedConversionRate", RATES), headers=LIMIT)
        first = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
        asked = [_objects(c) for c in rsps.calls]
    assert first["status"] == "ok" and asked == ["CurrencyType", "DatedConversionRate"]
    assert first["objects"]["DatedConversionRate"]["upserted"] == 2
    with session_factory() as s:
        gbp = s.scalars(select(CurrencyType).where(CurrencyType.iso_code == "GBP")).one()
        assert gbp.conversion_rate == Decimal("0.86") and not gbp.is_corporate
        spring = s.get(DatedConversionRate, RATES[1]["Id"])
        assert (spring.start_date, spring.next_start_date, spring.conversion_rate) == (
            dt.date(2026, 4, 1), dt.date(9999, 12, 31), Decimal("0.87"))
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=_page("CurrencyType", CURRENCIES), headers=LIMIT)
        rsps.get(QUERY, json=_page("DatedConversionRate", RATES[1:]), headers=LIMIT)  # the winter period deleted
        again = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert again["objects"]["CurrencyType"]["upserted"] == 0  # nothing changed: nothing written
    assert again["objects"]["DatedConversionRate"]["deleted"] == 1
    with session_factory() as s:
        assert [r.id for r in s.scalars(select(DatedConversionRate))] == [RATES[1]["Id"]]


def test_a_single_currency_org_syncs_without_rates_and_is_asked_again_only_a_day_later(session_factory, settings):
    missing = error("INVALID_TYPE", "sObject type 'CurrencyType' is not supported.")
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=missing, status=400, headers=LIMIT)
        rsps.get(QUERY, json=error("INVALID_TYPE", "sObject type 'DatedConversionRate' is not supported."),
                 status=400, headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "ok" and report["error"] is None
    assert {n: o["status"] for n, o in report["objects"].items()} == {"CurrencyType": "absent",
                                                                      "DatedConversionRate": "absent"}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:  # no call at all within the day
        again = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
        assert len(rsps.calls) == 0
    assert again["status"] == "ok"
    with session_factory() as s:
        assert s.get(SyncState, "CurrencyType").details["absent"] is True
        assert s.scalars(select(CurrencyType)).all() == []
