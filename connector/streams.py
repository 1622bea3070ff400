"""One small Stream per Salesforce object: its fields, key, replication key and how a record maps to a row.

The base class does nothing clever; :mod:`connector.sync` does paging, bookmarks and upserts for all
streams alike. Fields are chosen with the API in mind: at most one long-text field per query, because
Salesforce (and the demo org) serve 200-record pages instead of 2,000 as soon as two are selected.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from connector.errors import FatalSalesforceError
from retour import models
from retour.config import FieldMap, Settings

KEY_PREFIX = {"001": "Account", "005": "User", "006": "Opportunity", "00T": "Task", "00U": "Event", "500": "Case",
              "069": "ContentNote", "003": "Contact", "00Q": "Lead"}

# Salesforce field types a mapped attribute of each kind may come from.
KIND_TYPES = {
    "text": {"string", "textarea", "picklist", "email", "url", "phone", "combobox", "reference", "id"},
    "picklist": {"picklist", "multipicklist", "string", "combobox"},
    "boolean": {"boolean"},
    "number": {"double", "currency", "int", "percent", "long"},
    "date": {"date", "datetime"},
}
LONG_TEXT_LIMIT = 255


class MappingError(FatalSalesforceError):
    """A mapped field is missing from the org or has an incompatible type."""


# ------------------------------------------------------------------------------------------ value parsing
def parse_datetime(value: Any) -> dt.datetime | None:
    """Salesforce datetimes (``2024-07-01T09:15:02.000+0000``, ``…Z``) → aware UTC datetimes."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if type(value) is str and len(value) == 28 and value[10] == "T" and value[23] in "+-" and value[-4:].isdigit():
        # The shape every Salesforce response uses (``…T09:15:02.000+0000``): Python 3.11 reads it as is.
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is dt.timezone.utc else parsed.astimezone(dt.timezone.utc)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def parse_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "y", "oui", "vrai", "x")


def parse_decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value).strip().replace(" ", "").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def typed(kind: str, value: Any) -> Any:
    """A mapped attribute's value in a JSON-friendly typed form (filters compare these)."""
    if value in (None, ""):
        return None
    if kind == "boolean":
        return parse_bool(value)
    if kind == "number":
        number = parse_decimal(value)
        return float(number) if number is not None else None
    if kind == "date":
        return parse_date(value).isoformat()  # type: ignore[union-attr]
    return str(value)


def sobject_of(record_id: str | None) -> str | None:
    return KEY_PREFIX.get(record_id[:3]) if record_id else None


def soql_datetime(value: dt.datetime) -> str:
    """A SOQL datetime literal (UTC, milliseconds)."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# ------------------------------------------------------------------------------------------ streams
@dataclass(frozen=True)
class FieldSpec:
    name: str
    optional: bool = False  # dropped when the org lacks it (e.g. CurrencyIsoCode in single-currency orgs)


@dataclass(frozen=True)
class Mapped:
    """A configured field: which setting it comes from, and the kinds of type it must have."""

    setting: str
    field: str
    kind: str


class Stream:
    name: ClassVar[str]
    model: ClassVar[type]
    fields: ClassVar[tuple[str, ...]]
    optional: ClassVar[tuple[str, ...]] = ("IsDeleted",)
    key: ClassVar[str] = "Id"
    replication_key: ClassVar[str] = "SystemModstamp"
    # A snapshot stream is read whole on every run (a few reference rows the org cannot replicate incrementally);
    # an org may lack its object altogether (``connector.sync`` then keeps no row of it and says so).
    snapshot: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def mapped(self) -> list[Mapped]:
        return []

    def picklists(self) -> list[str]:
        """The picklist fields whose values the desk shows (a deal's stage, a loss reason): the sync keeps their
        values' labels (``connector.sync._value_labels``)."""
        return []

    def wanted_fields(self) -> list[str]:
        names = list(dict.fromkeys([self.key, *self.fields, *self.optional, self.replication_key,
                                    *(m.field for m in self.mapped())]))
        return names

    def select_fields(self, available: set[str] | None) -> list[str]:
        """Fields to query: optional ones only when the org has them (``available`` from describe)."""
        wanted = self.wanted_fields()
        if available is None:
            return wanted
        return [f for f in wanted if f not in self.optional or f in available]

    def to_row(self, rec: dict) -> dict:
        raise NotImplementedError

    def base_row(self, rec: dict) -> dict:
        return {"id": rec["Id"], "system_modstamp": parse_datetime(rec.get(self.replication_key)),
                "created_date": parse_datetime(rec.get("CreatedDate"))}


class UserStream(Stream):
    name = "User"
    model = models.SalesforceUser
    fields = ("Name", "Email", "IsActive", "ManagerId", "CreatedDate")
    optional = ("IsDeleted", "Department")

    def to_row(self, rec: dict) -> dict:
        return {**self.base_row(rec), "name": rec.get("Name") or "", "email": rec.get("Email"),
                "is_active": parse_bool(rec.get("IsActive", True)), "team": rec.get("Department"),
                "manager_id": rec.get("ManagerId")}


class AccountStream(Stream):
    name = "Account"
    model = models.Account
    fields = ("Name", "OwnerId", "Industry", "BillingCountry", "CreatedDate")

    def to_row(self, rec: dict) -> dict:
        return {**self.base_row(rec), "name": rec.get("Name") or "", "owner_id": rec.get("OwnerId"),
                "industry": rec.get("Industry"), "country": rec.get("BillingCountry"), "attributes": {}}


class OpportunityStream(Stream):
    name = "Opportunity"
    model = models.Opportunity
    # No Description: with Loss_Reason_Detail__c it would make two long-text fields and 200-record pages.
    fields = ("Name", "AccountId", "OwnerId", "StageName", "IsClosed", "IsWon", "Amount", "CloseDate", "CreatedDate")
    optional = ("IsDeleted", "CurrencyIsoCode")

    def mapped(self) -> list[Mapped]:
        m = self.settings.mapping
        out = []
        for setting, kind in (("loss_reason", "picklist"), ("loss_detail", "text"), ("competitor", "picklist"),
                              ("region", "picklist"), ("segment", "picklist")):
            value = getattr(m, setting)
            if value:
                out.append(Mapped(f"[mapping] {setting}", value, kind))
        out.extend(Mapped(f"[mapping.extra] {fm.name}", fm.field, fm.kind) for fm in m.extra)
        return out

    def picklists(self) -> list[str]:
        """The stage, and the mapped picklists (loss reason, competitor, region, segment and any extra picklist)."""
        return list(dict.fromkeys(["StageName", *(m.field for m in self.mapped() if m.kind == "picklist")]))

    def to_row(self, rec: dict) -> dict:
        m = self.settings.mapping
        get = (lambda f: rec.get(f) if f else None)
        attrs = {fm.name: typed(fm.kind, rec.get(fm.field)) for fm in m.extra}
        amount = rec.get("Amount")
        return {**self.base_row(rec), "name": rec.get("Name") or "", "account_id": rec.get("AccountId"),
                "owner_id": rec.get("OwnerId"), "stage": rec.get("StageName") or "",
                "is_closed": parse_bool(rec.get("IsClosed", False)), "is_won": parse_bool(rec.get("IsWon", False)),
                "amount": parse_decimal(amount) if amount not in (None, "") else None,
                "currency": rec.get("CurrencyIsoCode") or None, "close_date": parse_date(rec.get("CloseDate")),
                "loss_reason": get(m.loss_reason), "loss_detail": get(m.loss_detail),
                "competitor": get(m.competitor), "region": get(m.region), "segment": get(m.segment),
                "attributes": attrs}


class _ActivityStream(Stream):
    model = models.Activity
    fields = ("Subject", "Description", "WhatId", "WhoId", "AccountId", "OwnerId", "ActivityDate", "CreatedDate")

    def to_row(self, rec: dict) -> dict:
        return {**self.base_row(rec), "kind": self.name, "subject": rec.get("Subject"),
                "description": rec.get("Description"), "what_id": rec.get("WhatId"), "who_id": rec.get("WhoId"),
                "account_id": rec.get("AccountId"), "owner_id": rec.get("OwnerId"),
                "activity_date": parse_date(rec.get("ActivityDate")), "status": rec.get("Status"),
                "is_closed": parse_bool(rec.get("IsClosed", False)), "retour_key": rec.get("Retour_Key__c")}


class TaskStream(_ActivityStream):
    name = "Task"
    fields = _ActivityStream.fields + ("Status", "IsClosed")
    optional = ("IsDeleted", "Retour_Key__c")


class EventStream(_ActivityStream):
    name = "Event"
    fields = _ActivityStream.fields + ("StartDateTime",)


class CaseStream(Stream):
    name = "Case"
    model = models.Case
    fields = ("AccountId", "OwnerId", "Subject", "Description", "Status", "Priority", "Origin", "IsClosed",
              "CreatedDate")

    def to_row(self, rec: dict) -> dict:
        return {**self.base_row(rec), "account_id": rec.get("AccountId"), "owner_id": rec.get("OwnerId"),
                "subject": rec.get("Subject"), "description": rec.get("Description"), "status": rec.get("Status"),
                "priority": rec.get("Priority"), "origin": rec.get("Origin"),
                "is_closed": parse_bool(rec.get("IsClosed", False))}


class ContentNoteStream(Stream):
    """Enhanced notes. ContentNote has no SystemModstamp; links come from ContentDocumentLink by id."""

    name = "ContentNote"
    model = models.Note
    # Content is a blob URL in query results; TextPreview is the first 255 characters of the text.
    fields = ("Title", "TextPreview", "Content", "OwnerId", "CreatedDate")
    # ContentSize: the note's size in bytes, which tells its body from a maintenance page served in its place.
    optional = ("IsDeleted", "ContentSize")
    replication_key = "LastModifiedDate"

    def to_row(self, rec: dict) -> dict:
        return {**self.base_row(rec), "title": rec.get("Title"), "body": rec.get("_body"),
                "owner_id": rec.get("OwnerId"), "linked_ids": rec.get("_links") or [],
                "opportunity_id": rec.get("_opportunity_id"), "account_id": rec.get("_account_id")}


class CurrencyTypeStream(Stream):
    """The org's currencies and their static rates (units per one unit of the corporate currency).

    Multi-currency orgs only: a single-currency org has no CurrencyType, and its amounts are all in its one
    currency. Not replicateable in Salesforce (no getDeleted), and a few dozen rows: read whole every run."""

    name = "CurrencyType"
    model = models.CurrencyType
    fields = ("IsoCode", "ConversionRate", "IsCorporate", "IsActive", "CreatedDate")
    optional = ()
    snapshot = True

    def to_row(self, rec: dict) -> dict:
        return {**self.base_row(rec), "iso_code": rec.get("IsoCode"),
                "conversion_rate": parse_decimal(rec.get("ConversionRate")),
                "is_corporate": parse_bool(rec.get("IsCorporate", False)),
                "is_active": parse_bool(rec.get("IsActive", True))}


class DatedConversionRateStream(Stream):
    """Rates per period under advanced currency management: an opportunity's amount converts at the rate of the
    period its close date falls in. NextStartDate 9999-12-31 is Salesforce's open end. Read whole every run."""

    name = "DatedConversionRate"
    model = models.DatedConversionRate
    fields = ("IsoCode", "ConversionRate", "StartDate", "NextStartDate", "CreatedDate")
    optional = ()
    snapshot = True

    def to_row(self, rec: dict) -> dict:
        return {**self.base_row(rec), "iso_code": rec.get("IsoCode"),
                "conversion_rate": parse_decimal(rec.get("ConversionRate")),
                "start_date": parse_date(rec.get("StartDate")), "next_start_date": parse_date(rec.get("NextStartDate"))}


STREAMS: dict[str, type[Stream]] = {s.name: s for s in (UserStream, AccountStream, OpportunityStream, TaskStream,
                                                        EventStream, CaseStream, ContentNoteStream,
                                                        CurrencyTypeStream, DatedConversionRateStream)}


def streams_for(settings: Settings, objects: list[str] | tuple[str, ...] | None = None) -> list[Stream]:
    names = list(objects or settings.sync.objects)
    unknown = [n for n in names if n not in STREAMS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(STREAMS), n=1)
        raise FatalSalesforceError(f"Retour cannot sync {unknown[0]!r}"
                                   f"{f' (did you mean {close[0]!r}?)' if close else ''}; known objects: "
                                   f"{', '.join(STREAMS)}. Fix [sync] objects or --object.", code="config")
    order = list(STREAMS)
    return [STREAMS[n](settings) for n in sorted(set(names), key=order.index)]


# ------------------------------------------------------------------------------------------ describe check
def check_describe(stream: Stream, describe: dict) -> list[str]:
    """Validate the stream against the object's describe; return the field names the org has.

    A missing or mistyped mapped field raises :class:`MappingError` naming the object, the field, the
    setting, and the closest existing names.
    """
    fields = {f["name"]: f for f in describe.get("fields", [])}
    lower = {n.lower(): n for n in fields}
    problems: list[str] = []
    required = [Mapped("(required by Retour)", f, "") for f in stream.wanted_fields() if f not in stream.optional]
    mapped_names = {m.field for m in stream.mapped()}
    for m in stream.mapped() + [r for r in required if r.field not in mapped_names]:
        actual = fields.get(m.field) or fields.get(lower.get(m.field.lower(), ""))
        if actual is None:
            close = difflib.get_close_matches(m.field, list(fields), n=3, cutoff=0.5)
            if not close:
                close = [n for n in fields if m.field.lower().replace("__c", "")[:4] in n.lower()][:3]
            hint = f" Closest fields: {', '.join(close)}." if close else ""
            problems.append(f"{stream.name}.{m.field} ({m.setting}) does not exist in the org.{hint}")
            continue
        if m.kind and actual.get("type") not in KIND_TYPES[m.kind]:
            problems.append(f"{stream.name}.{m.field} ({m.setting}) is a {actual.get('type')} field, but kind "
                            f"{m.kind!r} needs one of: {', '.join(sorted(KIND_TYPES[m.kind]))}.")
    if problems:
        raise MappingError(" ".join(problems) + " Fix the [mapping] settings (or the integration user's field "
                           "access) and run again; `retour check` shows the same.", code="MAPPING",
                           object_name=stream.name)
    long_text = [f for f in stream.select_fields(set(fields))
                 if fields.get(f, {}).get("type") == "textarea" and (fields[f].get("length") or 0) > LONG_TEXT_LIMIT]
    stream.long_text_fields = long_text  # type: ignore[attr-defined]
    return sorted(fields)
