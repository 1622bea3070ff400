"""Helpers for the push tests: a mirrored world (users, accounts, opportunities, one theme with evidence, a
decision) built from Salesforce-shaped rows, so the same builder serves `responses` tests and the demo org."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from connector.demo_org.ids import make_id
from retour.models import (
    Account,
    AppUser,
    Decision,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    SalesforceUser,
    Theme,
    ThemeEvidence,
)

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone.utc)  # a Wednesday
TODAY = NOW.date()


def sf_rows(n_opps: int, *, lost_every: int = 2, won_every: int = 7, inactive_users: tuple[int, ...] = (),
            users: int = 4, start: int = 1) -> dict[str, list[dict[str, Any]]]:
    """Salesforce-shaped Users, Accounts and Opportunities: alternating lost/open, some won."""
    user_rows = [{"Id": make_id("005", start + u), "Name": f"Rep {u}", "IsActive": u not in inactive_users}
                 for u in range(users)]
    acc_rows, opp_rows = [], []
    for i in range(n_opps):
        owner = user_rows[i % users]["Id"]
        acc = {"Id": make_id("001", start + i), "Name": f"ACME {i}", "OwnerId": owner}
        won = won_every and i % won_every == won_every - 1
        lost = bool(not won and lost_every and i % lost_every == 0)
        acc_rows.append(acc)
        opp_rows.append({"Id": make_id("006", start + i), "Name": f"ACME {i} — renewal", "AccountId": acc["Id"],
                         "OwnerId": owner, "StageName": "Closed Won" if won else ("Closed Lost" if lost else "Proposal"),
                         "IsClosed": bool(won or lost), "IsWon": bool(won), "Amount": 1000 + i,
                         "CloseDate": "2026-03-02"})
    return {"User": user_rows, "Account": acc_rows, "Opportunity": opp_rows}


def build_world(session: Session, rows: dict[str, list[dict[str, Any]]], *, status: str = "planned",
                target: str | None = "Q3", insight_en: str | None = "SSO ships in Q3: offer the beta.",
                insight_fr: str | None = "Le SSO arrive au T3 : proposez la bêta.", langs: dict[str, str] | None = None,
                label: str = "sso / saml", title_en: str | None = "Single sign-on",
                title_fr: str | None = "L’authentification unique") -> tuple[Theme, Decision, AppUser]:
    """Mirror the rows, file one loss reason per opportunity under one theme, and record a draft decision.

    The theme's label is a machine's on purpose (what clustering names a theme): a test can then check it
    never reaches a rep, who reads the decision's titles instead.
    """
    langs = langs or {}
    for u in rows["User"]:
        session.add(SalesforceUser(id=u["Id"], name=u["Name"], is_active=bool(u.get("IsActive", True))))
    for a in rows["Account"]:
        session.add(Account(id=a["Id"], name=a["Name"], owner_id=a.get("OwnerId")))
    for o in rows["Opportunity"]:
        close = o.get("CloseDate")
        session.add(Opportunity(id=o["Id"], name=o["Name"], account_id=o.get("AccountId"), owner_id=o.get("OwnerId"),
                                stage=o.get("StageName") or "", is_closed=bool(o.get("IsClosed")),
                                is_won=bool(o.get("IsWon")), amount=Decimal(str(o.get("Amount") or 0)),
                                close_date=dt.date.fromisoformat(close) if isinstance(close, str) else close,
                                created_date=NOW - dt.timedelta(days=200)))
    theme = Theme(label=label, status="critical")
    user = AppUser(email=f"po{len(rows['Opportunity'])}@example.com", password_hash="x", role="product_owner")
    session.add_all([theme, user])
    session.flush()
    for n, o in enumerate(rows["Opportunity"]):
        lang = langs.get(o["Id"], "en")
        item = FeedbackItem(source_object="Opportunity", source_id=o["Id"], source_field="loss_reason",
                            channel="loss_reason", text="no SSO" if lang == "en" else "pas de SSO", text_hash=f"h{n}",
                            lang=lang, occurred_at=NOW - dt.timedelta(days=30), account_id=o.get("AccountId"),
                            opportunity_id=o["Id"], owner_id=o.get("OwnerId"))
        session.add(item)
        session.flush()
        seg = FeedbackSegment(item_id=item.id, position=0, text=item.text, lang=lang)
        session.add(seg)
        session.flush()
        session.add(ThemeEvidence(theme_id=theme.id, segment_id=seg.id, similarity=0.9))
    decision = Decision(theme_id=theme.id, status=status, target=target, insight_en=insight_en, insight_fr=insight_fr,
                        title_en=title_en, title_fr=title_fr, state="draft", created_by_id=user.id)
    session.add(decision)
    session.flush()
    return theme, decision, user


# ------------------------------------------------------------------------------------------ the wire
INSTANCE = "https://acme.my.salesforce.com"
BASE = f"{INSTANCE}/services/data/v59.0"
LIMIT = {"Sforce-Limit-Info": "api-usage=25/15000"}


class CollectionsWire:
    """A `responses` callback answering sObject Collections calls exactly as Salesforce shapes them.

    It keeps the records written (so a test can count them: one per key, never two) and lets a test script
    faults: ``call_faults`` (one entry per call: None, ``(status, body)``, an exception raised before the work,
    or ``"lost"`` = the work is done and then the connection drops) and ``record_error(sobject, record)`` which
    returns a per-record ``errors`` entry or None.
    """

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {}  # sobject -> id -> fields
        self.calls: list[tuple[str, str, int]] = []  # (method, path, records)
        self.bodies: list[dict[str, Any]] = []
        self.call_faults: list[Any] = []
        self.record_error = lambda sobject, record: None
        self.on_call = lambda n: None
        self._n = 0

    def by_key(self, sobject: str, field: str = "Retour_Key__c") -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rid, rec in self.records.get(sobject, {}).items():
            out.setdefault(rec.get(field), []).append(rid)
        return out

    def __call__(self, request) -> tuple[int, dict, str]:
        import json
        import urllib.parse

        path = urllib.parse.urlsplit(request.url).path.split("/services/data/v59.0/", 1)[1]
        body = json.loads(request.body)
        self.calls.append((request.method, path, len(body["records"])))
        self.bodies.append(body)
        self.on_call(len(self.calls))
        fault = self.call_faults.pop(0) if self.call_faults else None
        if isinstance(fault, Exception):
            raise fault
        if isinstance(fault, tuple):
            return fault[0], LIMIT, json.dumps(fault[1])
        parts = path.split("/")[2:]  # composite/sobjects[/<SObject>/<Field>]
        results = []
        for rec in body["records"]:
            sobject = rec["attributes"]["type"]
            err = self.record_error(sobject, rec)
            if err is not None:
                results.append({"success": False, "errors": [err]})
                continue
            store = self.records.setdefault(sobject, {})
            fields = {k: v for k, v in rec.items() if k != "attributes"}
            if parts:  # upsert by external id
                key_field = parts[1]
                match = [rid for rid, r in store.items() if r.get(key_field) == rec[key_field]]
                rid = match[0] if match else make_id({"Task": "00T", "FeedItem": "0D5"}.get(sobject, "a0R"),
                                                     len(store) + 1 + 1000 * len(self.records))
                store.setdefault(rid, {}).update(fields)
                results.append({"id": rid, "success": True, "errors": [], "created": not match})
            elif request.method == "PATCH":  # update by Id
                rid = fields.pop("Id")
                if rid not in store:
                    results.append({"id": rid, "success": False, "errors": [
                        {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]})
                    continue
                store[rid].update(fields)
                results.append({"id": rid, "success": True, "errors": []})
            else:
                rid = make_id("0D5", len(store) + 1)
                store[rid] = fields
                results.append({"id": rid, "success": True, "errors": []})
        if fault == "lost":
            import requests
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected('Remote end closed connection "
                                           "without response')")
        return 200, LIMIT, json.dumps(results)


def lock_error(record_id: str = "006000000000001AAA") -> dict[str, Any]:
    return {"statusCode": "UNABLE_TO_LOCK_ROW",
            "message": f"unable to obtain exclusive access to this record or 1 records: {record_id}", "fields": []}
