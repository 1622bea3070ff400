"""`retour check` for Salesforce: can Retour log in, and does every field it reads exist with a usable type?"""

from __future__ import annotations

from connector.errors import RetourSalesforceError
from connector.permissions import user_permissions
from connector.push import missing_fields
from connector.push_plan import options_from, written_fields
from connector.streams import MappingError, check_describe, streams_for
from retour.config import Settings


def salesforce_checks(settings: Settings, *, client=None) -> list[dict]:
    """One result per check: ``{"check", "ok", "detail"}``; failures say what to fix."""
    from connector.client import connect

    results: list[dict] = []
    try:
        client = client or connect(settings)
    except RetourSalesforceError as exc:
        return [{"check": "salesforce login", "ok": False, "detail": exc.message}]
    results.append({"check": "salesforce login", "ok": True,
                    "detail": f"{settings.salesforce.auth} flow, instance {client.instance_url}"})
    try:
        streams = streams_for(settings)
    except RetourSalesforceError as exc:
        return results + [{"check": "salesforce objects", "ok": False, "detail": exc.message}]
    for stream in streams:
        name = f"salesforce {stream.name} fields"
        try:
            describe = client.restful(f"sobjects/{stream.name}/describe", object_name=stream.name)
            check_describe(stream, describe or {})
            mapped = ", ".join(m.field for m in stream.mapped())
            results.append({"check": name, "ok": True,
                            "detail": f"{len(stream.wanted_fields())} fields present" + (f" (mapped: {mapped})" if mapped else "")})
        except MappingError as exc:
            results.append({"check": name, "ok": False, "detail": exc.message})
        except RetourSalesforceError as exc:
            if stream.snapshot and exc.code in ("NOT_FOUND", "INVALID_TYPE"):
                # A single-currency org has no currency objects: nothing is missing, nothing needs converting.
                results.append({"check": name, "ok": True, "detail": f"the org has no {stream.name} (single currency): "
                                f"every amount is taken in [critical_mass] currency = {settings.critical_mass.currency}"})
                continue
            results.append({"check": name, "ok": False, "detail": exc.message})
            if exc.__class__.__name__ in ("AuthFailed", "BudgetExhausted"):
                break
    results.append(push_fields_check(client, settings))
    if any(stream.name == "ContentNote" for stream in streams):
        results.append(note_access_check(client))
    if client.api_usage:
        used, limit = client.api_usage
        results.append({"check": "salesforce api budget", "ok": client.budget_left(),
                        "detail": f"{used}/{limit} daily API requests used; Retour stops at "
                                  f"{settings.sync.api_budget_share:.0%}"})
    return results


def note_access_check(client) -> dict:
    """Whether the integration user holds Query All Files, read from UserPermissionAccess (its own permissions,
    readable without View Setup). Notes are files: without it, even with View All Data, ContentNote queries return
    only the notes the user owns or can see, so other reps' notes are missed - and the Id reconciliation that
    detects deleted notes (ContentNote has no getDeleted) would take the missing ones for deleted."""
    name = "salesforce note access"
    try:
        granted = user_permissions(client)
    except RetourSalesforceError as exc:
        return {"check": name, "ok": False, "detail": "cannot read the integration user's permissions "
                f"(UserPermissionAccess): {exc.message}"}
    if granted.get("PermissionsQueryAllFiles"):
        return {"check": name, "ok": True, "detail": "the integration user has Query All Files: every rep's notes "
                "are read, and deleted notes are found by comparing Ids"}
    return {"check": name, "ok": False, "detail": "the integration user lacks Query All Files: notes are files, and "
            "without it ContentNote queries return only the notes it owns or can see, even with View All Data, so "
            "other reps' notes are missed. Assign it the Retour_Integration permission set (Query All Files and "
            "View All Data), or remove ContentNote from [sync] objects."}


def push_fields_check(client, settings: Settings) -> dict:
    """Whether the org has every field a push writes (read off the records the push builds): an org still on
    older metadata of deploy/salesforce refuses every insight with INVALID_FIELD until the project is deployed."""
    name = "salesforce push fields"
    fields = written_fields(options_from(settings))
    try:
        problem = missing_fields(client, fields)
    except RetourSalesforceError as exc:
        return {"check": name, "ok": False, "detail": f"cannot read the describe of the objects a push writes: "
                f"{exc.message}"}
    if problem:
        return {"check": name, "ok": False, "detail": problem}
    return {"check": name, "ok": True, "detail": "; ".join(f"{sobject}: {len(names)} fields a push writes, all "
                                                           "present" for sobject, names in fields.items())}
