"""Figures for the demo org at volume: `python -m connector.demo_org.bench --scale 31`.

Prints seeding time (when the cache is cold), the database size, the start time, and how long it
takes to read every Opportunity and Task over HTTPS with REST paging and with a Bulk 2.0 query.
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import tempfile
import time
from pathlib import Path

from .org import DemoOrg
from .testing import salesforce, shared_cache_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        org = DemoOrg(Path(tmp), scale=args.scale, seed=args.seed, cache_dir=args.cache_dir or shared_cache_dir())
        org.start()
        try:
            start_s = time.monotonic() - started
            print(f"bench=demo_org scale={args.scale:g} seed_s={org.seed_seconds if org.seed_seconds is None else round(org.seed_seconds, 1)} "
                  f"start_s={start_s:.1f} db_mb={org.db_path.stat().st_size / 1e6:.0f}")
            sf = salesforce(org)
            for name, fields in (("Opportunity", "Id, Name, StageName, Amount, Loss_Reason__c, SystemModstamp"),
                                 ("Task", "Id, Subject, Description, WhatId, SystemModstamp")):
                t = time.monotonic()
                calls = org.api_calls
                n = sum(1 for _ in sf.query_all_iter(f"SELECT {fields} FROM {name} ORDER BY SystemModstamp",
                                                     include_deleted=True))
                print(f"bench=demo_org read=rest object={name} rows={n} api_calls={org.api_calls - calls} "
                      f"s={time.monotonic() - t:.1f}")
                t = time.monotonic()
                rows = sum(sum(1 for _ in csv.reader(io.StringIO(page))) - 1 for page in getattr(sf.bulk2, name).query(
                    f"SELECT {fields} FROM {name}", max_records=50_000, wait=0))
                print(f"bench=demo_org read=bulk2 object={name} rows={rows} s={time.monotonic() - t:.1f}")
            print(f"bench=demo_org max_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
        finally:
            org.stop()


if __name__ == "__main__":
    main()
