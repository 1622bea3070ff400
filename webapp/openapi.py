"""The OpenAPI 3.1 document of /api/v1 (a test checks it lists exactly the API's routes)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
OBJ = {"type": "object"}


def _op(summary: str, role: str, *, params: tuple[str, ...] = (), body: dict | None = None,
        query: tuple[str, ...] = (), ok: str = "200", answer: dict | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Minimum role: {role}.",
        "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "integer"}} for p in params]
        + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query],
        "responses": {ok: {"description": "OK", "content": {"application/json": {"schema": answer or OBJ}}},
                      "400": {"description": "Invalid input", "content": {"application/json": {"schema": ERROR}}},
                      "401": {"description": "Not logged in", "content": {"application/json": {"schema": ERROR}}},
                      "403": {"description": "Role too low", "content": {"application/json": {"schema": ERROR}}},
                      "404": {"description": "Not found", "content": {"application/json": {"schema": ERROR}}}},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if role == "public":
        op["security"] = []
    return op


def _with(op: dict[str, Any], *params: dict[str, Any]) -> dict[str, Any]:
    """``op`` with query parameters typed beyond _op's strings (a page number)."""
    return {**op, "parameters": op["parameters"] + list(params)}


def _obj(**props: dict) -> dict[str, Any]:
    return {"type": "object", "properties": props}


S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
TITLE = {"type": "string", "maxLength": 80,
         "description": "What reps read as the insight's name and in their task's subject; required with the "
                        "insight of the same language."}
DECISION = _obj(status={"type": "string", "enum": ["investigating", "planned", "shipped", "wont_do"]},
                target=S, title_en=TITLE, insight_en=S, title_fr=TITLE, insight_fr=S)
LANG = {"type": "string", "enum": ["en", "fr"], "description": "The language the name is written in."}
LINES = {"type": "array", "items": {"type": "string", "maxLength": 1000}, "maxItems": 50}
IDS = {"type": "array", "items": {"type": "integer"}, "description": "FeedbackSegment ids (segment_id in search)."}
EVIDENCE_IDS = {"type": "array", "items": {"type": "integer"},
                "description": "ThemeEvidence ids (evidence_id in /proposals/{proposal_id}/quotes)."}
NEW_THEME = _obj(label={"type": "string", "maxLength": 200}, lang=LANG, examples=LINES, segment_ids=IDS)
BOARD_QUERY = ("status", "window", "source", "lang", "team", "region", "segment", "q", "page")
T, E, D = ("theme_id",), ("theme_id", "evidence_id"), ("decision_id",)
COUNT = {"type": "integer", "minimum": 0}
# connector.push_efficacy.LoopFigures as JSON, with its sentence in the reader's language.
LOOP = {**_obj(
    since={"type": ["string", "null"], "format": "date-time",
           "description": "When the decision's first record landed in Salesforce; null: nothing has landed."},
    tasks_sent={**COUNT, "description": "Follow-up tasks sent on lost deals (withdrawn ones left out)."},
    tasks_completed={**COUNT, "description": "Of those, completed by their rep."},
    tasks_withdrawn={**COUNT, "description": "Follow-up tasks sent, then closed by the decision's withdrawal."},
    lost_deals_pushed={**COUNT, "description": "Closed Lost deals a follow-up was sent for."},
    lost_deals_reopened={**COUNT, "description": "Of those, no longer Closed Lost."},
    deals_won={**COUNT, "description": "Of the re-opened deals, won since."},
    new_opportunities={**COUNT, "description": "Opportunities opened after the push on the accounts it reached."},
    pipeline_recovered={"type": "array", "description": "Re-opened deals and new opportunities, one amount per "
                        "currency (never added across currencies), largest first.",
                        "items": _obj(amount={"type": "number"}, currency={"type": "string"})},
    sentence={"type": "string", "description": "What happened since the push, in plain words."}),
    "description": "What came back from Salesforce since the decision's push, as the next syncs mirrored it."}
N = {"type": "number"}
# jobs.figures.Figures as JSON: the one definition every page, the board and the "Why" sentence read.
FIGURES = {**_obj(
    window_days={"type": ["integer", "null"], "description": "The period: the last N whole days up to today; null: "
                 "all evidence."},
    currency={"type": "string", "description": "The reporting currency ([critical_mass] currency) every amount is "
              "converted into with the org's rates."},
    items={**COUNT, "description": "Distinct feedback items citing the theme (active evidence) in the period."},
    accounts={**COUNT, "description": "Distinct accounts of those items."},
    revenue_lost={**N, "description": "Closed-lost deals those items are written on."},
    revenue_open={**N, "description": "Open deals they are written on, and an account's open deals for a note "
                  "on it that names no deal."},
    revenue_at_stake={**N, "description": "revenue_lost + revenue_open."},
    score={**N, "description": "Each item counts 1 when written, half as much every [critical_mass] half_life_days."},
    unconverted={"type": "array", "description": "Amounts in a currency without a rate: never added, per currency.",
                 "items": _obj(currency=S, revenue_lost=N, revenue_open=N)},
    trend_90={"type": ["number", "string", "null"], "description": "Items of the last 90 days against the 90 before "
              "(0.6 = +60%); \"new\" from none; null from none to none."},
    items_90=COUNT, items_before_90=COUNT, new_accounts_90=COUNT,
    last_seen={"type": ["string", "null"], "format": "date-time"}),
    "description": "A theme's figures for one period and the board's filters."}
DAY = {"type": ["string", "null"], "format": "date"}
# connector.push_preview: the whole push summed up first, then one page of its records (the decision page's own).
PREVIEW_SUMMARY = {**_obj(
    total={**COUNT, "description": "Records of the push, every page."},
    per_object={"type": "object", "additionalProperties": I,
                "description": "Records to write (or written) per Salesforce object: Retour_Insight__c, Task, "
                               "FeedItem."},
    reps={**COUNT, "description": "Reps who receive at least one record."},
    shown={"type": "object", "additionalProperties": I, "description": "Records per state (as rows[].shown)."},
    skipped={"type": "object", "additionalProperties": I, "description": "Skipped records per reason code."},
    failed={"type": "object", "additionalProperties": I, "description": "Failed records per Salesforce error."},
    cap={**COUNT, "description": "Records a rep receives a day at most ([push] per_rep_daily_cap)."},
    first_day={"type": "string", "format": "date", "description": "The day the next scheduled push run sends."},
    deferred={"type": "array", "description": "Records the reps' daily cap holds back, by the day they should go, "
              "soonest first.", "items": _obj(date=DAY, records=COUNT)},
    deferred_total=COUNT, last_deferred=DAY),
    "description": "The decision's whole push, counted over every record whatever the page."}
PREVIEW_ROW = {**_obj(
    n={"type": "integer", "minimum": 1, "description": "The record's place in the whole preview (201-400 on page 2)."},
    id=I, kind={"type": "string", "enum": ["insight", "task", "chatter"]}, sobject=S, target_id=S, record_name=S,
    record_label=S, record_url={"type": ["string", "null"]}, owner_id={"type": ["string", "null"]},
    rep_name={"type": ["string", "null"]}, rep={"type": ["string", "null"]},
    account_id={"type": ["string", "null"]}, account_name={"type": ["string", "null"]},
    text={"type": "string", "description": "Exactly what the rep reads."}, lang={"type": ["string", "null"]},
    record={"type": "object", "description": "The fields written in Salesforce."},
    state={"type": "string", "description": "The stored state."},
    shown={"type": "string", "enum": ["planned", "waiting", "deferred", "retry", "written", "failed", "skipped",
                                      "withdrawing", "withdrawn", "cancelled"],
           "description": "The record's true state: deferred = held back by the rep's daily cap until expected."},
    skipped=B, skip_code={"type": ["string", "null"]}, skip_reason={"type": ["string", "null"]},
    sf_id={"type": ["string", "null"]}, error_code={"type": ["string", "null"]},
    error_message={"type": ["string", "null"]}, expected=DAY,
    sent_at={"type": ["string", "null"], "format": "date-time"},
    quote={"type": "string", "description": "The quote that put the record in the push (CRM text, untrusted)."},
    quote_lang={"type": ["string", "null"]},
    handed_from={"type": ["string", "null"],
                 "description": "The deal's owner, inactive or unknown: the record goes to the account's owner."},
    handed_why={"type": ["string", "null"], "enum": ["owner_inactive", "owner_unknown", None]}),
    "description": "One record of the push; rows are grouped by rep, then account."}
DECISION_ANSWER = {**_obj(
    decision={**_obj(loop={"$ref": "#/components/schemas/LoopFigures"}),
              "description": "The decision, with its loop figures under loop."},
    summary={"$ref": "#/components/schemas/PreviewSummary"},
    page={"type": "integer", "minimum": 1, "description": "The preview page shown (a page past the last gives the "
          "last)."},
    pages={"type": "integer", "minimum": 1}, per_page={"type": "integer", "const": 200},
    total={**COUNT, "description": "Records of the push (summary.total)."},
    preview={"type": "array", "maxItems": 200, "items": {"$ref": "#/components/schemas/PreviewRow"},
             "description": "The page's records, at most 200."}),
    "description": "A decision, the summary of its push and one page of its records."}
PAGE = {"name": "page", "in": "query", "required": False,
        "schema": {"type": "integer", "minimum": 1, "default": 1},
        "description": "The preview's page, 200 records a page; ASCII digits only (anything else is a 400)."}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Retour API", "version": "1",
                 "description": "Session authentication (log in at /login). Writes need the header X-CSRF-Token "
                                "with the token from GET /api/v1/me. Mapped org fields filter the board with "
                                "attr.<name>=value query parameters."},
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "retour_session"},
                                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}},
            "schemas": {"Error": _obj(error=_obj(code=I, message=S)), "LoopFigures": LOOP, "Figures": FIGURES,
                        "PreviewSummary": PREVIEW_SUMMARY, "PreviewRow": PREVIEW_ROW},
        },
        "security": [{"session": [], "csrf": []}],
        "paths": {
            "/api/v1/openapi.json": {"get": _op("This document", "public")},
            "/api/v1/me": {"get": _op("The logged-in user and the CSRF token", "viewer")},
            "/api/v1/themes": {"get": _op("Theme board with filters: each theme's figures for the period and "
                                          "filters (figures), its status and why (judged on the critical-mass "
                                          "rule's own period over all feedback)", "viewer", query=BOARD_QUERY),
                               "post": _op("Create a theme a person names, from example sentences and/or quotes",
                                           "product_owner", body=NEW_THEME, ok="201")},
            "/api/v1/themes/{theme_id}/suggestions": {
                "get": _op("Suggested quotes waiting for a person (not counted in figures)", "viewer", params=T)},
            "/api/v1/themes/{theme_id}/suggestions/{evidence_id}/accept": {
                "post": _op("Accept a suggested quote: it becomes evidence", "product_owner", params=E)},
            "/api/v1/themes/{theme_id}/suggestions/{evidence_id}/decline": {
                "post": _op("Decline a suggested quote: not suggested for this theme again", "product_owner",
                            params=E)},
            "/api/v1/themes/{theme_id}/evidence/{evidence_id}/not-feedback": {
                "post": _op("Say a quote is not feedback: it leaves every theme", "product_owner", params=E)},
            "/api/v1/themes/{theme_id}/examples": {
                "post": _op("Add example sentences the next theme pass learns from", "product_owner", params=T,
                            body=_obj(examples=LINES))},
            "/api/v1/themes/{theme_id}/name": {
                "post": _op("Name a theme in English or French", "product_owner", params=T,
                            body=_obj(lang=LANG, label=S))},
            "/api/v1/themes/{theme_id}/evidence": {
                "post": _op("File quotes (feedback segments) under a theme", "product_owner", params=T,
                            body=_obj(segment_ids=IDS))},
            "/api/v1/evidence/search": {
                "get": _op("Feedback quotes containing q (25 a page, at most 100); aside=1: with those set aside as "
                           "not feedback", "viewer", query=("q", "page", "aside"))},
            "/api/v1/themes/{theme_id}": {"get": _op("Theme detail: figures, months (adding up to its items), deals "
                                                     "and evidence for the board's period and filters", "viewer",
                                                     params=T, query=BOARD_QUERY)},
            "/api/v1/themes/{theme_id}/rename": {"post": _op("Rename a theme", "product_owner", params=T,
                                                             body=_obj(label=S))},
            "/api/v1/themes/{theme_id}/confirm": {"post": _op("Confirm a theme as it stands: its names and typical "
                                                              "quotes become a person's", "product_owner", params=T)},
            "/api/v1/themes/{theme_id}/merge": {"post": _op("Merge into another theme", "product_owner", params=T,
                                                            body=_obj(target_id=I))},
            "/api/v1/themes/{theme_id}/unmerge": {
                "post": _op("Undo the merge of a merged theme: the quotes the merge moved (and that nobody moved since) "
                            "and its status come back, and the pair is not proposed for merging again", "product_owner",
                            params=T)},
            "/api/v1/themes/{theme_id}/evidence/{evidence_id}/move": {
                "post": _op("Move a quote to another theme", "product_owner", params=E, body=_obj(target_id=I))},
            "/api/v1/themes/{theme_id}/evidence/{evidence_id}/reject": {
                "post": _op("Reject a quote", "product_owner", params=E)},
            "/api/v1/themes/{theme_id}/evidence/{evidence_id}/pin": {
                "post": _op("Pin or unpin a quote", "product_owner", params=E, body=_obj(pinned=B))},
            "/api/v1/themes/{theme_id}/decisions": {
                "post": _op("Record a decision and prepare its push", "product_owner", params=T, body=DECISION,
                            ok="201", answer=DECISION_ANSWER)},
            "/api/v1/decisions/{decision_id}": {
                "get": _with(_op("A decision, the summary of its push, one page of its records (?page=, 200 a "
                                 "page) and what came back since the push (loop)", "viewer", params=D,
                                 answer=DECISION_ANSWER), PAGE),
                "put": _op("Edit a draft decision", "product_owner", params=D, body=DECISION,
                           answer=DECISION_ANSWER)},
            "/api/v1/decisions/{decision_id}/approve": {"post": _op("Approve the push", "product_owner", params=D,
                                                                    answer=DECISION_ANSWER)},
            "/api/v1/decisions/{decision_id}/cancel": {"post": _op("Cancel a draft", "product_owner", params=D,
                                                                   answer=DECISION_ANSWER)},
            "/api/v1/decisions/{decision_id}/withdraw": {"post": _op("Withdraw", "product_owner", params=D,
                                                                     answer=DECISION_ANSWER)},
            "/api/v1/pause": {"get": _op("Is every push paused?", "viewer"),
                              "put": _op("Pause or resume every push", "product_owner",
                                         body=_obj(paused=B, reason=S))},
            "/api/v1/proposals": {"get": _op("Open merge, split and rename proposals, with their quotes", "viewer",
                                             query=("theme_id",))},
            "/api/v1/proposals/{proposal_id}/quotes": {
                "get": _op("A split's two parts in full (stays, moves), each quote with its evidence id", "viewer",
                           params=("proposal_id",))},
            "/api/v1/proposals/{proposal_id}/accept": {
                "post": _op("Accept a proposal (label: a split's new theme or a rename; into: a merge's survivor, or "
                            "the existing theme a split's part goes to; move: the evidence ids a split moves, default "
                            "the pass's cut)",
                            "product_owner", params=("proposal_id",), body=_obj(label=S, into=I, move=EVIDENCE_IDS))},
            "/api/v1/proposals/{proposal_id}/decline": {
                "post": _op("Decline a proposal: it is not made again", "product_owner", params=("proposal_id",))},
        },
    }
