"""A small org whose every figure a test can work out by hand: three themes, ten accounts, deals in EUR and GBP
(one GBP deal closed before a dated rate changed, one after), one deal in a currency without a rate, notes on
accounts without a deal, two languages, three regions, feedback from two years ago to today, quotes that are
suggested or rejected (never counted), and an item that holds two quotes of one theme.

``SmallOrg.expected`` is the test's own statement of the definitions (jobs.figures), written plainly over the
specs it built, so a test can check the pages against it rather than against each other alone.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from retour.models import (
    Account,
    CurrencyType,
    DatedConversionRate,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    SalesforceUser,
    Theme,
    ThemeEvidence,
)

_ids = itertools.count(1)


def sf_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):09d}SMLAAA"


@dataclass(frozen=True)
class Deal:
    key: str
    account: str
    amount: float
    currency: str | None
    stage: str  # lost | open | won
    region: str | None
    close_days_ago: int


@dataclass(frozen=True)
class Item:
    theme: str
    account: str | None
    deal: str | None
    days_ago: float
    lang: str
    channel: str
    texts: tuple[str, ...]  # one quote per text under ``theme``
    state: str = "active"  # active | suggested | rejected


DEALS = [
    Deal("lost-eur-a", "A0", 40_000, "EUR", "lost", "EMEA", 20),
    Deal("lost-gbp-old", "A1", 30_000, "GBP", "lost", "UK", 200),  # converts at the old dated rate
    Deal("lost-gbp-new", "A2", 30_000, "GBP", "lost", "UK", 10),  # converts at the new one
    Deal("open-eur-a3", "A3", 25_000, "EUR", "open", "EMEA", -30),
    Deal("open-eur-a4", "A4", 60_000, "EUR", "open", "AMER", -60),
    Deal("won-eur", "A5", 90_000, "EUR", "won", "EMEA", 40),
    Deal("lost-xyz", "A6", 12_000, "XYZ", "lost", "AMER", 15),  # a currency the org has no rate for
    Deal("lost-none", "A7", 8_000, None, "lost", "EMEA", 100),  # no currency field: the org's one currency
    Deal("open-eur-a8", "A8", 15_000, "EUR", "open", "EMEA", -10),
    Deal("lost-eur-a9-old", "A9", 20_000, "EUR", "lost", "AMER", 500),
]

ITEMS = [
    # SAP exports: the biggest theme, spread over two years
    Item("SAP", "A0", "lost-eur-a", 2, "fr", "loss_reason", ("Pas d'export SAP natif",)),
    Item("SAP", "A1", "lost-gbp-old", 45, "en", "loss_reason", ("No SAP export, chose a competitor",)),
    Item("SAP", "A2", "lost-gbp-new", 12, "en", "note", ("SAP connector missing", "exports to SAP fail nightly")),
    Item("SAP", "A3", None, 70, "fr", "note", ("Ils attendent le connecteur SAP",)),  # account pipeline counts
    Item("SAP", "A6", "lost-xyz", 100, "en", "case", ("SAP sync breaks on invoices",)),
    Item("SAP", "A9", "lost-eur-a9-old", 500, "en", "loss_reason", ("SAP export was missing back then",)),
    Item("SAP", "A4", "open-eur-a4", 200, "en", "note", ("Needs an SAP export before renewal",)),
    Item("SAP", "A5", "won-eur", 30, "fr", "note", ("Export SAP contourné par un script",)),  # won: no revenue
    Item("SAP", "A8", "open-eur-a8", 5, "fr", "note", ("export SAP lent",), state="suggested"),  # never counts
    Item("SAP", "A7", "lost-none", 8, "en", "case", ("the SAP export is slow",), state="rejected"),  # never counts
    # Pricing
    Item("Pricing", "A0", "lost-eur-a", 3, "fr", "loss_reason", ("Trop cher par siège",)),
    Item("Pricing", "A7", "lost-none", 95, "en", "loss_reason", ("Price per seat too high",)),
    Item("Pricing", "A8", None, 25, "en", "note", ("Budget cut, price too high",)),
    Item("Pricing", "A4", "open-eur-a4", 300, "fr", "case", ("Tarif trop élevé",)),
    # SSO
    Item("SSO", "A3", "open-eur-a3", 1, "en", "case", ("Okta SSO loops",)),
    Item("SSO", None, None, 40, "en", "note", ("SAML login fails",)),  # no account at all
    Item("SSO", "A2", "lost-gbp-new", 160, "fr", "loss_reason", ("Pas de SSO SAML",)),
]
REGION_OF_ACCOUNT = {d.account: d.region for d in DEALS}
RATES_STATIC = {"EUR": 1.0, "GBP": 0.8}
GBP_CHANGE_DAYS_AGO = 100  # GBP: 0.5 per euro before this day, 0.8 from it on


@dataclass
class SmallOrg:
    now: dt.datetime
    themes: dict[str, int] = field(default_factory=dict)
    deals: dict[str, str] = field(default_factory=dict)  # key -> Opportunity id
    evidence: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (theme, first text) -> evidence ids

    # --------------------------------------------------------------------------------------------- the oracle
    @property
    def end(self) -> dt.datetime:
        return (self.now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)

    def when(self, days_ago: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days_ago)

    def value(self, deal: Deal) -> float | None:
        if deal.currency in (None, "EUR"):
            return deal.amount
        if deal.currency != "GBP":
            return None
        rate = 0.5 if deal.close_days_ago > GBP_CHANGE_DAYS_AGO else 0.8
        return deal.amount / rate

    def included(self, it: Item, theme: str, window: int | None, filters: dict[str, str]) -> bool:
        if it.theme != theme or it.state != "active":
            return False
        if window is not None and not (self.end - dt.timedelta(days=window) <= self.when(it.days_ago) < self.end):
            return False
        if filters.get("lang") and it.lang != filters["lang"]:
            return False
        if filters.get("source") and it.channel != filters["source"]:
            return False
        if filters.get("region"):
            deal = next((d for d in DEALS if d.key == it.deal), None)
            region = deal.region if deal else REGION_OF_ACCOUNT.get(it.account)  # the account's own deal
            if region != filters["region"]:
                return False
        if filters.get("q") and not any(filters["q"].lower() in t.lower() for t in it.texts):
            return False
        return True

    def expected(self, theme: str, window: int | None, filters: dict[str, str]) -> dict[str, float]:
        items = [it for it in ITEMS if self.included(it, theme, window, filters)]
        at_stake: dict[str, float] = {}
        unconverted: dict[str, float] = {}
        for it in items:
            if it.deal:
                deals = [d for d in DEALS if d.key == it.deal and d.stage in ("lost", "open")]
            else:
                deals = [d for d in DEALS if d.account == it.account and d.stage == "open"]
            for d in deals:
                v = self.value(d)
                if v is None:
                    unconverted[d.key] = d.amount
                else:
                    at_stake[d.key] = v
        q = filters.get("q", "").lower()
        quotes = sum(1 for it in items for t in it.texts if q in t.lower())
        return {"items": len(items), "accounts": len({it.account for it in items if it.account}),
                "at_stake": round(sum(at_stake.values()), 2), "unconverted": round(sum(unconverted.values()), 2),
                "quotes": quotes}


def build(session, now: dt.datetime | None = None) -> SmallOrg:
    """Write the small org (committed by the caller)."""
    org = SmallOrg(now or dt.datetime.now(dt.timezone.utc))
    today = org.now.date()
    session.add_all([
        CurrencyType(id=sf_id("01L"), iso_code="EUR", conversion_rate=Decimal("1"), is_corporate=True),
        CurrencyType(id=sf_id("01L"), iso_code="GBP", conversion_rate=Decimal(str(RATES_STATIC["GBP"]))),
        DatedConversionRate(id=sf_id("04w"), iso_code="GBP", conversion_rate=Decimal("0.5"),
                            start_date=today - dt.timedelta(days=1000),
                            next_start_date=today - dt.timedelta(days=GBP_CHANGE_DAYS_AGO)),
        DatedConversionRate(id=sf_id("04w"), iso_code="GBP", conversion_rate=Decimal("0.8"),
                            start_date=today - dt.timedelta(days=GBP_CHANGE_DAYS_AGO),
                            next_start_date=dt.date(9999, 12, 31)),
    ])
    emea = SalesforceUser(id=sf_id("005"), name="Camille Martin", team="EMEA Enterprise")
    amer = SalesforceUser(id=sf_id("005"), name="Priya Shah", team="AMER")
    session.add_all([emea, amer])
    accounts = {f"A{i}": sf_id("001") for i in range(10)}
    session.add_all([Account(id=a, name=f"Account {k}") for k, a in accounts.items()])
    for d in DEALS:
        oid = org.deals[d.key] = sf_id("006")
        session.add(Opportunity(
            id=oid, name=f"Deal {d.key}", account_id=accounts[d.account],
            owner_id=(amer if d.region == "AMER" else emea).id,
            stage={"lost": "Closed Lost", "open": "Negotiation", "won": "Closed Won"}[d.stage],
            is_closed=d.stage != "open", is_won=d.stage == "won", amount=Decimal(str(d.amount)), currency=d.currency,
            close_date=today - dt.timedelta(days=d.close_days_ago), region=d.region, segment="Enterprise"))
    for name in ("SAP", "Pricing", "SSO"):
        theme = Theme(label=name, status="emerging")
        session.add(theme)
        session.flush()
        org.themes[name] = theme.id
    for n, it in enumerate(ITEMS):
        deal = next((d for d in DEALS if d.key == it.deal), None)
        item = FeedbackItem(source_object="Opportunity" if it.deal else "Task", source_id=sf_id("00T"),
                            source_field="description", channel=it.channel, text=" ".join(it.texts),
                            text_hash=f"small{n}", lang=it.lang, occurred_at=org.when(it.days_ago),
                            account_id=accounts.get(it.account) if it.account else None,
                            opportunity_id=org.deals[it.deal] if it.deal else None,
                            owner_id=(amer if deal and deal.region == "AMER" else emea).id)
        session.add(item)
        session.flush()
        ids = []
        for pos, text in enumerate(it.texts):
            seg = FeedbackSegment(item_id=item.id, position=pos, text=text, lang=it.lang)
            session.add(seg)
            session.flush()
            ev = ThemeEvidence(theme_id=org.themes[it.theme], segment_id=seg.id, similarity=0.8, state=it.state)
            session.add(ev)
            session.flush()
            ids.append(ev.id)
        org.evidence[(it.theme, it.texts[0])] = ids
    session.flush()
    return org
