"""Named fault switches: the demo org as unkind as Salesforce is on its bad days.

Retour's tests run against the demo org, so wherever the demo org is kinder than Salesforce the tests prove
little. Each switch below makes it answer one of Salesforce's documented (or customer-reported) bad answers,
with the wire shape Salesforce uses. Tests turn them on with ``DemoOrg(..., faults={...})`` or
``org.enable_fault(name)``; ``retour demo --org-only --faults a,b`` turns them on for a whole demo session.
Switches stay on until turned off (unlike ``DemoOrg.inject_fault``, which answers the next N matching requests).
"""

from __future__ import annotations

from collections.abc import Iterable

DELETED_DAYS = 30            # how far back getDeleted reaches by default (SALESFORCE.md: 30, earlier under load)
DELETED_DAYS_SHORT = 15      # what Salesforce's getDeleted docs promise
QUERY_TIMEOUT_DAYS = 7       # a REST query over a wider SystemModstamp / LastModifiedDate range times out
HTML_EVERY = 4               # with html-200, every 4th REST call is answered by the maintenance page
LOGIN_SERVER = "https://login.salesforce.com"  # the audience Salesforce expects for a production My Domain
LOGIN_HOST = "localhost"     # with cc-my-domain-only, https://localhost:PORT plays login.salesforce.com

# What an org still on older metadata of deploy/salesforce lacks (before the bilingual insight fields, seed v8).
OLD_METADATA_FIELDS = {"Retour_Insight__c": ("Insight_En__c", "Insight_Fr__c", "Title_En__c", "Title_Fr__c")}

MAINTENANCE_PAGE = ("<!DOCTYPE html><html><head><title>Salesforce - Maintenance</title></head><body>"
                    "<h1>Down for maintenance</h1><p>Salesforce is down for maintenance. Please check back "
                    "shortly.</p></body></html>")

# name -> what the org does with the switch on (shown by `retour demo --help` and the serve-org command).
FAULTS: dict[str, str] = {
    "deleted-15-days": f"getDeleted reaches back {DELETED_DAYS_SHORT} days, not {DELETED_DAYS}: an older start "
                       "is refused with 400 INVALID_REPLICATION_DATE",
    "deleted-purged": "the delete log was purged when the switch went on: getDeleted's earliestDateAvailable "
                      "is that moment and an older start is refused with 400 INVALID_REPLICATION_DATE",
    "bulk-cut": "each Bulk 2.0 result page is cut mid-body the first time it is downloaded (the connection "
                "closes before Content-Length bytes: IncompleteRead)",
    "html-200": f"every {HTML_EVERY}th REST call that answers JSON or a blob (a note's body, itself HTML) is "
                "answered 200 with an HTML maintenance page instead",
    "bulk-no-order-by": "a Bulk 2.0 query job whose SOQL has ORDER BY is refused (400 INVALIDJOB): Salesforce's "
                        "Bulk 2.0 docs list ORDER BY as unsupported",
    "query-timeout": f"a REST query bounded on SystemModstamp/LastModifiedDate over more than {QUERY_TIMEOUT_DAYS} "
                     "days answers 400 QUERY_TIMEOUT",
    "cc-my-domain-only": f"client_credentials on the login host (https://{LOGIN_HOST}:PORT here) is refused with "
                         "400 invalid_grant 'request not supported on this domain'; https://127.0.0.1:PORT is "
                         "the org's My Domain",
    "jwt-login-audience": f"a JWT bearer assertion must name {LOGIN_SERVER} as its audience, as Salesforce maps a "
                          "production My Domain to its login server; the org's own URL is refused",
    "old-metadata": "the org runs an older deploy/salesforce project: Retour_Insight__c has no "
                    f"{', '.join(OLD_METADATA_FIELDS['Retour_Insight__c'])} (not in its describe) and a record "
                    "writing one is refused with INVALID_FIELD",
    "no-query-all-files": "the integration user lacks Query All Files: UserPermissionAccess says so, "
                          "ContentDocumentLink needs an Id filter, and ContentNote and ContentDocumentLink queries "
                          "return only its own notes and their links",
}


def parse_faults(names: str | Iterable[str] | None) -> frozenset[str]:
    """``"a,b"`` (or names) -> the switches; an unknown name is a ValueError naming the known ones."""
    if names is None:
        return frozenset()
    items = names.split(",") if isinstance(names, str) else list(names)
    wanted = [n.strip() for n in items if n and n.strip()]
    unknown = [n for n in wanted if n not in FAULTS]
    if unknown:
        raise ValueError(f"unknown demo org fault(s): {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return frozenset(wanted)


def help_text() -> str:
    """One line per switch, for a command's ``--help``."""
    return "; ".join(f"{name}: {what}" for name, what in FAULTS.items())
