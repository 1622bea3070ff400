"""Push delivery benchmark against the demo org: API calls and seconds for 1,000 and 10,000 pushes.

Compares Retour's delivery (``send_pending``: sObject Collections upserts by external ID, 200 records a call,
pause checked before each batch) with the naive way (one ``PATCH sobjects/<SObject>/<ExtId>/<key>`` per record).
Both go over real HTTPS to a local demo org and write real records; the outbox lives in a throw-away SQLite file.

    python bench/push_bench.py                      # 1,000 and 10,000, both ways
    python bench/push_bench.py --sizes 1000 --naive-limit 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connector import push  # noqa: E402
from connector.client import OrgClient  # noqa: E402
from connector.demo_org import DemoOrg  # noqa: E402
from connector.demo_org.testing import http_session, shared_cache_dir  # noqa: E402
from retour.config import load_settings  # noqa: E402
from retour.db import make_engine, session_factory, upgrade  # noqa: E402
from retour.models import Decision, PushItem, Theme, utcnow  # noqa: E402

WEEKDAY = dt.date(2026, 11, 18)


def outbox(session, opp_ids: list[str], n: int, tag: str) -> Decision:
    """An approved decision with n insight pushes spread over the org's opportunities (unique keys)."""
    theme = Theme(label=f"bench {tag}", status="decided")
    session.add(theme)
    session.flush()
    decision = Decision(theme_id=theme.id, status="planned", target="Q3", insight_en="SSO ships in Q3.",
                        state="approved", approved_at=utcnow())
    session.add(decision)
    session.flush()
    for i in range(n):
        key = f"bench-{tag}-{i}"
        record = {"Retour_Key__c": key, "Name": "SSO", "Theme__c": "SSO", "Decision_Status__c": "planned",
                  "Insight__c": "SSO ships in Q3: offer the beta.", "Target_Release__c": "Q3",
                  "Theme_Url__c": f"https://retour.example.com/themes/{theme.id}",
                  "Opportunity__c": opp_ids[i % len(opp_ids)], "Status__c": "active"}
        session.add(PushItem(decision_id=decision.id, kind="insight", sobject="Retour_Insight__c", external_key=key,
                             target_id=opp_ids[i % len(opp_ids)], owner_id=None, payload={"record": record},
                             state="approved", approved_at=utcnow()))
    session.flush()
    return decision


def collections_run(factory, settings, client, opp_ids, n) -> tuple[int, float, int]:
    with factory() as session:
        outbox(session, opp_ids, n, f"c{n}")
        session.commit()
        calls = client.calls
        started = time.perf_counter()
        report = push.send_pending(session, settings, client, today=WEEKDAY)
        seconds = time.perf_counter() - started
        session.commit()
    assert report.sent == n and report.failed == 0, report
    return client.calls - calls, seconds, report.sent


def naive_run(client, opp_ids, n) -> tuple[int, float]:
    calls = client.calls
    started = time.perf_counter()
    for i in range(n):
        key = f"bench-naive{n}-{i}"
        record = {"Name": "SSO", "Theme__c": "SSO", "Decision_Status__c": "planned",
                  "Insight__c": "SSO ships in Q3: offer the beta.", "Target_Release__c": "Q3",
                  "Opportunity__c": opp_ids[i % len(opp_ids)], "Status__c": "active"}
        client.call(lambda sf, k=key, r=record: sf.restful(f"sobjects/Retour_Insight__c/Retour_Key__c/{k}",
                                                           method="PATCH", data=json.dumps(r)),
                    object_name="Retour_Insight__c")
    return client.calls - calls, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--naive-limit", type=int, default=10_000, help="skip the naive way above this size")
    parser.add_argument("--scale", type=float, default=0.1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        org = DemoOrg(Path(tmp) / "org", scale=args.scale, cache_dir=shared_cache_dir(), api_limit=10_000_000)
        org.start()
        try:
            db = Path(tmp) / "retour.db"
            settings = load_settings({"database_url": f"sqlite:///{db}", "data_dir": tmp,
                                      "push": {"per_rep_daily_cap": 1_000_000}}, environ=org.env())
            engine = make_engine(settings.effective_database_url)
            upgrade(engine)
            factory = session_factory(engine)
            client = OrgClient(settings, http=http_session(org))
            opp_ids = [o["Id"] for o in org.records("Opportunity")]
            print(f"push bench: demo org scale={args.scale} opportunities={len(opp_ids)} batch=200")
            print(f"{'pushes':>7} {'way':<12} {'api_calls':>9} {'seconds':>8} {'records/s':>10}")
            for n in sizes:
                org_before = org.api_calls
                calls, seconds, sent = collections_run(factory, settings, client, opp_ids, n)
                print(f"{n:>7} {'collections':<12} {calls:>9} {seconds:>8.2f} {n / seconds:>10.0f}"
                      f"   (org counted {org.api_calls - org_before}, ceil(n/200)={-(-n // 200)})")
                if n <= args.naive_limit:
                    calls, seconds = naive_run(client, opp_ids, n)
                    print(f"{n:>7} {'naive':<12} {calls:>9} {seconds:>8.2f} {n / seconds:>10.0f}")
            keys = [r["Retour_Key__c"] for r in org.records("Retour_Insight__c")]
            dupes = len(keys) - len(set(keys))
            print(f"records in the org: {len(keys)} duplicates: {dupes}")
            engine.dispose()
        finally:
            org.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
