"""The demo org's currencies: a multi-currency org with advanced currency management, as Salesforce serves it.

Nuvola's corporate currency is EUR; its deals are also written in GBP (UK), CHF (DACH) and USD. ``CurrencyType``
holds each currency's static rate and ``DatedConversionRate`` a rate per quarter, so a GBP deal lost in spring
converts at spring's rate: Retour must pick the period a deal's close date falls in, never add GBP to EUR.
Rates are units of the currency per one euro, as Salesforce keeps them; the last period of each currency runs
to 9999-12-31, Salesforce's open end.

:mod:`.schema` declares the two objects through :func:`define`; :mod:`.seed` writes their rows through
:func:`seed` (deterministic, without the seeder's random stream, so every other seeded row stays as it was).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

CORPORATE = "EUR"
OPEN_END = "9999-12-31"
# Static rates (CurrencyType.ConversionRate) and, per quarter of the seeded history, the dated ones: a pound
# slowly weakening against the euro, a dollar and a franc that move a little, so a period picked wrongly shows.
STATIC = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08, "CHF": 0.95}
QUARTERLY_DRIFT = {"EUR": 0.0, "GBP": 0.006, "USD": -0.01, "CHF": 0.004}
QUARTERS = 8  # two years of quarters ending after the seeded history's last day
DECIMALS = {"EUR": 2, "GBP": 2, "USD": 2, "CHF": 2}


def define(define_object: Callable[..., None], field: type, ident: Callable[[], Any],
           system: Callable[..., list]) -> None:
    """Declare CurrencyType and DatedConversionRate with the fields Salesforce describes for them (``field``,
    ``ident`` and ``system`` are :mod:`.schema`'s own builders)."""
    def iso(label: str) -> Any:
        return field("IsoCode", "picklist", 3, label=label, picklist=tuple(STATIC), restricted=True, required=True,
                     nillable=False)

    define_object("CurrencyType", "01L", "Currency Type", [
        ident(), iso("Currency ISO Code"),
        field("ConversionRate", "double", label="Conversion Rate", nillable=False),
        field("DecimalPlaces", "int", 2, label="Decimal Places"),
        field("IsActive", "boolean", label="Active", nillable=False, default=True),
        field("IsCorporate", "boolean", label="Corporate Currency", nillable=False, default=False),
        *system(),
    ])
    define_object("DatedConversionRate", "04w", "Dated Conversion Rate", [
        ident(), iso("ISO Code"),
        field("ConversionRate", "double", label="Conversion Rate", nillable=False),
        field("StartDate", "date", label="Start Date", required=True, nillable=False),
        field("NextStartDate", "date", label="Next Start Date", createable=False, updateable=False),
        *system(),
    ])


def _quarter_starts(last_day: dt.date) -> list[dt.date]:
    """The first days of the ``QUARTERS`` quarters up to the one holding ``last_day``."""
    q = (last_day.month - 1) // 3
    y, m = last_day.year, 3 * q + 1
    starts = []
    for _ in range(QUARTERS):
        starts.append(dt.date(y, m, 1))
        y, m = (y, m - 3) if m > 3 else (y - 1, m + 9)
    return sorted(starts)


def rate(code: str, quarter: int) -> float:
    """The dated rate of ``code`` in the ``quarter``-th period (0 = the oldest)."""
    return round(STATIC[code] * (1 + QUARTERLY_DRIFT[code] * (quarter - QUARTERS + 1)), 6)


def seed(batch: Callable[[str], Any], *, last_day: dt.date, stamp_ms: int) -> None:
    """Write the currencies and their quarterly rates (``batch(sobject)`` is the seeder's row writer)."""
    types = batch("CurrencyType")
    for code, static in STATIC.items():
        types.add({"IsoCode": code, "ConversionRate": static, "DecimalPlaces": DECIMALS[code], "IsActive": 1,
                   "IsCorporate": int(code == CORPORATE), "CreatedDate": stamp_ms, "LastModifiedDate": stamp_ms,
                   "SystemModstamp": stamp_ms})
    types.flush()
    dated = batch("DatedConversionRate")
    starts = _quarter_starts(last_day)
    for code in STATIC:
        for q, start in enumerate(starts):
            nxt = starts[q + 1].isoformat() if q + 1 < len(starts) else OPEN_END
            dated.add({"IsoCode": code, "ConversionRate": rate(code, q), "StartDate": start.isoformat(),
                       "NextStartDate": nxt, "CreatedDate": stamp_ms, "LastModifiedDate": stamp_ms,
                       "SystemModstamp": stamp_ms})
    dated.flush()
