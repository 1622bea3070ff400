"""Helpers for the browser tests: committed data on a dedicated engine, the app served by werkzeug in a thread,
and headless Debian Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from dataclasses import dataclass

from sqlalchemy import Engine, text

from retour.db import make_engine, session_factory
from retour.models import (
    Account,
    Base,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    SalesforceUser,
    Theme,
    ThemeEvidence,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
_ids = itertools.count(500_000)


def sf_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):012d}BBB"


def truncate_all(engine: Engine) -> None:
    """Remove every row the browser test committed (the schema stays)."""
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in reversed(tables):
                conn.execute(text(f'DELETE FROM "{t}"'))


class LiveServer:
    """The app on 127.0.0.1:<free port> in a thread; ``stop()`` shuts it down and joins the thread."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="web-test-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@dataclass
class Seeded:
    themes: dict[str, int]


def seed(factory, *, now: dt.datetime | None = None, hostile: list[str] | None = None) -> Seeded:
    """A small, realistic board: bilingual feedback, several regions, reps and deals; committed.

    ``hostile``: payloads put into every CRM-derived text (quotes get all of them; names and labels, whose
    columns are short, get one each in turn).
    """
    bad = itertools.cycle(hostile or [""])
    now = now or dt.datetime.now(dt.timezone.utc)
    out: dict[str, int] = {}
    with factory() as s:
        reps = [SalesforceUser(id=sf_id("005"), name=n, team=t) for n, t in
                [("Camille Martin", "EMEA Enterprise"), ("Jon Ander Etxeberria", "EMEA Mid-Market"),
                 ("Priya Shah", "AMER Enterprise")]]
        s.add_all(reps)
        specs = [
            ("Exports time out on large files", "EMEA", 9, "en",
             ["The CSV export times out past 50k rows, they went with a competitor",
              "L'export CSV plante au-delà de 50 000 lignes", "Export to Excel never finishes"]),
            ("CSV export is slow", "EMEA", 3, "fr",
             ["L'export est beaucoup trop lent", "Exports take ages to start"]),
            ("SSO login loops", "AMER", 6, "en",
             ["Okta SSO keeps looping back to the login page", "SAML login fails for half the team"]),
            ("Missing Basque language pack", "EMEA", 2, "other",
             ["Euskara ez dago eskuragarri", "They need the UI in Basque"]),
            ("Pricing too high for SMB", "AMER", 5, "en",
             ["Too expensive for a 10-seat team", "Price per seat kills SMB deals"]),
        ]
        for label, region, n, lang, texts in specs:
            if hostile:
                texts = [" ".join(hostile) + " " + t for t in texts]
            # Figures, status and why come from these rows on every page (jobs.figures), never from the theme row.
            theme = Theme(label=(next(bad) + " " + label).strip(), status="emerging")
            s.add(theme)
            s.flush()
            out[label] = theme.id
            for i in range(n):
                rep = reps[i % len(reps)] if region == "EMEA" else reps[2]
                acc = Account(id=sf_id("001"), name=next(bad) + ["Acme SA", "Bolt GmbH", "Cobalt Ltd", "Dune SAS",
                                                                       "Eon BV", "Fjord AS"][i % 6] + f" {i}")
                opp = Opportunity(id=sf_id("006"), name=next(bad) + f"{acc.name} renewal", account_id=acc.id,
                                  owner_id=rep.id, stage="Closed Lost" if i % 3 else "Negotiation",
                                  is_closed=bool(i % 3), is_won=False, amount=24000 + 1000 * i, currency="EUR",
                                  region=region, segment="Enterprise" if i % 2 else "SMB",
                                  attributes={"speaks_basque": label.startswith("Missing Basque")})
                t = texts[i % len(texts)]
                item = FeedbackItem(source_object="Opportunity", source_id=opp.id, source_field="loss_detail",
                                    channel=["loss_reason", "note", "case"][i % 3], text=t, text_hash=sf_id("h"),
                                    lang=lang, occurred_at=now - dt.timedelta(days=3 + 11 * i), account_id=acc.id,
                                    opportunity_id=opp.id, owner_id=rep.id)
                s.add_all([acc, opp, item])
                s.flush()
                seg = FeedbackSegment(item_id=item.id, position=0, text=t, lang=lang)
                s.add(seg)
                s.flush()
                s.add(ThemeEvidence(theme_id=theme.id, segment_id=seg.id, similarity=0.8))
        s.commit()
    return Seeded(out)


def dedicated_factory(database_url: str):
    engine = make_engine(database_url)
    return engine, session_factory(engine)
