"""Deterministic seeding of the demo org: Nuvola's CRM over 18 months, scaled by ``scale``.

The same (scale, seed) always gives the same file: one ``random.Random(seed)`` drives every choice in a
fixed order, and all dates hang off a fixed anchor (``ANCHOR``) instead of today, so the file can be cached and
checksummed; an org moves its own copy to end on its today (:mod:`.history`). The seeded file is
cached under ``cache_dir`` keyed by scale, seed and :data:`SEED_VERSION` (bump it whenever the output
changes), built under a file lock and renamed into place, so parallel processes never see half a file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import math
import random
import time
import unicodedata
from pathlib import Path

from . import currency, textbank as tb
from .ids import make_id
from .schema import OBJECTS, SEGMENTS, STAGES
from .store import Store

log = logging.getLogger("retour.demo_org")

SEED_VERSION = 10  # 10: no account name repeats its last word ("Ashford Care Group Group")
# 8: Retour_Insight__c holds both languages (Insight_En__c ... Title_Fr__c); 7: currencies
ANCHOR = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
WINDOW_DAYS = 548  # 18 months
INTEGRATION_USERNAME = "integration@nuvola.example"
DAY_MS = 86_400_000

# Volumes at scale 1 (the minima, with margin).
ACCOUNTS, OPPORTUNITIES, TASKS, EVENTS, CASES, NOTES = 450, 3300, 8600, 3200, 600, 320
REPS_PER_TEAM = 4


def cache_path(cache_dir: Path, scale: float, seed: int) -> Path:
    return Path(cache_dir) / f"org-{f'{scale:g}'.replace('.', '_')}-{seed}-v{SEED_VERSION}.sqlite"


def ensure_seeded(cache_dir: Path, scale: float, seed: int) -> tuple[Path, float | None]:
    """Return the cached seeded file, building it if needed; the float is the seeding time when built now."""
    path = cache_path(cache_dir, scale, seed)
    if path.exists():
        return path, None
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path, None
        tmp = path.with_suffix(".building")
        tmp.unlink(missing_ok=True)
        started = time.monotonic()
        store = Store(tmp)
        try:
            store.conn.execute("PRAGMA journal_mode=OFF")
            store.conn.execute("PRAGMA synchronous=OFF")
            store.create_schema()
            Seeder(store, scale, seed).run()
            store.set_meta("seed_version", str(SEED_VERSION))
            store.set_meta("scale", f"{scale:g}")
            store.set_meta("seed", str(seed))
            store.conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            store.close()
        tmp.replace(path)
        _prune_old_versions(path.parent)
        seconds = time.monotonic() - started
        log.info("demo_org state=seeded scale=%s seed=%s s=%.1f bytes=%d", scale, seed, seconds, path.stat().st_size)
        return path, seconds


def _prune_old_versions(cache_dir: Path) -> None:
    """Seeds of older formats are never read again: drop them so the cache does not grow with each version."""
    for old in cache_dir.glob("org-*-v*.sqlite"):
        if not old.name.endswith(f"-v{SEED_VERSION}.sqlite"):
            old.unlink(missing_ok=True)
            old.with_suffix(".lock").unlink(missing_ok=True)


def _ms(d: dt.datetime) -> int:
    return int(d.timestamp() * 1000)


ANCHOR_MS = _ms(ANCHOR)
START_MS = ANCHOR_MS - WINDOW_DAYS * DAY_MS


def _date(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).date().isoformat()


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def trend_factor(trend: str, t: float) -> float:
    """Relative frequency of a theme at time t (0 = 18 months ago, 1 = the anchor date)."""
    if trend == "growing":
        return 0.25 + 2.2 * t ** 2.5
    if trend == "fading":
        return 0.15 + 1.8 * (1 - t) ** 1.5
    return 1.0


class _Lazy(dict):
    def __init__(self, makers):
        super().__init__()
        self.makers = makers

    def __missing__(self, key):
        value = self[key] = self.makers[key]()
        return value


class Batch:
    def __init__(self, store: Store, sobject: str, size: int = 5000):
        self.store, self.obj = store, OBJECTS[sobject]
        self.cols = [f.name for f in self.obj.fields]
        self.sql = (f'INSERT INTO "{self.obj.name}" ({", ".join(chr(34) + c + chr(34) for c in self.cols)}) '
                    f'VALUES ({", ".join("?" * len(self.cols))})')
        self.rows: list[tuple] = []
        self.size = size
        self.n = 0

    def add(self, rec: dict) -> str:
        self.n += 1
        rec_id = make_id(self.obj.key_prefix, self.n)
        rec["Id"] = rec_id
        rec.setdefault("IsDeleted", 0)
        self.rows.append(tuple(rec.get(c) for c in self.cols))
        if len(self.rows) >= self.size:
            self.flush()
        return rec_id

    def flush(self) -> None:
        if self.rows:
            self.store.conn.executemany(self.sql, self.rows)
            self.rows.clear()
        self.store.set_counter(self.obj.key_prefix, self.n)


class Seeder:
    def __init__(self, store: Store, scale: float, seed: int):
        self.store, self.scale, self.rng = store, scale, random.Random(seed * 7919 + 17)
        self.theme_names = list(tb.THEMES)
        self.truth: list[tuple[str, str, str, str]] = []  # (sobject, id, field, theme) of text carrying a theme

    def n(self, base: int) -> int:
        return max(1, int(round(base * self.scale)))

    # ------------------------------------------------------------------ text
    def roughen(self, text: str, lang: str) -> str:
        r = self.rng
        for word, short in tb.ABBREVIATIONS[lang].items():
            if word in text and r.random() < 0.3:
                text = text.replace(word, short, 1)
        if lang == "fr" and r.random() < 0.22:
            text = _strip_accents(text)
        typos = 0 if r.random() < 0.62 else (1 if r.random() < 0.75 else 2)
        for _ in range(typos):
            words = text.split(" ")
            idx = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
            if not idx:
                break
            i = r.choice(idx)
            w = words[i]
            k = r.randrange(1, len(w) - 1)
            kind = r.random()
            if kind < 0.4:
                w = w[:k] + w[k + 1] + w[k] + w[k + 2:]
            elif kind < 0.7:
                w = w[:k] + w[k + 1:]
            else:
                w = w[:k] + w[k] + w[k:]
            words[i] = w
            text = " ".join(words)
        if r.random() < 0.25:
            text = text[:1].lower() + text[1:]
        elif r.random() < 0.03:
            text = text.upper()
        return text

    def feedback_clause(self, theme: str, lang: str, person: str) -> str:
        r = self.rng
        bank = tb.THEMES[theme][lang]
        core = r.choice(bank["core"])
        if r.random() < 0.12:
            other = r.choice(bank["core"])
            if other != core:
                core = f"{core}, {'et' if lang == 'fr' else 'and'} {other}"
        frame = r.choice(tb.FRAMES[lang])
        text = frame.format(c=core, C=core[:1].upper() + core[1:], d=r.choice(bank["detail"]), p=person)
        return self.roughen(text[:1].upper() + text[1:] if r.random() < 0.7 else text, lang)

    def logistics(self, lang: str, person: str, k: int) -> list[str]:
        r = self.rng
        makers = {
            "p": lambda: person, "day": lambda: r.choice(tb.DAYS[lang]), "v": lambda: r.randint(2, 5),
            "title": lambda: r.choice(tb.TITLES[lang]), "date": lambda: f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}",
            "n": lambda: r.randint(2, 14), "event": lambda: r.choice(tb.EVENTS[lang]),
            "k": lambda: r.choice((12, 18, 25, 40, 60, 85, 120)), "se": lambda: r.choice(tb.COLLEAGUES),
            "pct": lambda: r.choice((5, 8, 10, 12, 15)),
        }
        out = []
        for _ in range(k):
            # Only the placeholders a sentence uses draw random values (seeding speed at scale).
            s = r.choice(tb.LOGISTICS[lang]).format_map(_Lazy(makers))
            out.append(self.roughen(s, lang) if r.random() < 0.5 else s)
        return out

    def note(self, lang: str, person: str, theme: str | None) -> str:
        r = self.rng
        other = "en" if lang == "fr" else "fr"
        parts = self.logistics(other if r.random() < 0.07 else lang, person, r.choice((0, 1, 1, 2, 2, 2, 3, 3, 4, 6)))
        if theme is not None:
            clause_lang = other if r.random() < 0.05 else lang  # some mixed notes: feedback in the other language
            parts.insert(r.randint(0, len(parts)), self.feedback_clause(theme, clause_lang, person))
        if not parts:
            parts = self.logistics(lang, person, 1)
        sep = r.choice((". ", ". ", " / ", "\n", " - ", "; ", "\n- "))
        text = sep.join(p.rstrip(".") for p in parts)
        if r.random() < 0.4:
            text += "."
        return text

    def pick_theme(self, t: float, account: dict, for_case: bool = False) -> str:
        r = self.rng
        weights = []
        for name in self.theme_names:
            th = tb.THEMES[name]
            if for_case and not th["case"]:
                weights.append(0.0)
                continue
            w = th["weight"] * trend_factor(th["trend"], t)
            conc = th.get("concentrate")
            if conc:
                kind, value, boost, damp = conc
                hit = ((kind == "region" and account["region"] == value) or
                       (kind == "basque" and account["basque"]) or
                       (kind == "segment" and account["segment"] == value))
                w *= boost if hit else damp
            weights.append(w)
        return r.choices(self.theme_names, weights)[0]

    def lang_for(self, account: dict) -> str:
        return "fr" if self.rng.random() < account["fr_share"] else "en"

    def person(self, culture: str) -> tuple[str, str]:
        r = self.rng
        return r.choice(tb.FIRST_NAMES[culture]), r.choice(tb.LAST_NAMES[culture])

    # ------------------------------------------------------------------ records
    def run(self) -> None:
        r = self.rng
        st = self.store
        users = Batch(st, "User")
        integ = users.add({"FirstName": "Retour", "LastName": "Integration", "Name": "Retour Integration",
                           "Email": INTEGRATION_USERNAME, "Username": INTEGRATION_USERNAME, "IsActive": 1,
                           "Department": "IT", "Title": "Integration user", "LanguageLocaleKey": "en_US",
                           "CreatedDate": START_MS - 400 * DAY_MS, "LastModifiedDate": START_MS - 400 * DAY_MS,
                           "SystemModstamp": START_MS - 400 * DAY_MS})
        self.integ = integ
        currency.seed(lambda name: Batch(st, name), last_day=ANCHOR.date(), stamp_ms=START_MS - 400 * DAY_MS)
        reps_by_team: dict[str, list[str]] = {}
        reps_per_team = max(REPS_PER_TEAM, int(round(REPS_PER_TEAM * math.sqrt(self.scale))))
        used_names = set()

        def add_user(first: str, last: str, dept: str, title: str, manager: str | None, active: bool, loc: str) -> str:
            base = f"{_strip_accents(first).lower()}.{_strip_accents(last).lower().replace(' ', '')}"
            login = base
            k = 1
            while login in used_names:
                k += 1
                login = f"{base}{k}"
            used_names.add(login)
            created = START_MS - r.randint(30, 700) * DAY_MS
            return users.add({"FirstName": first, "LastName": last, "Name": f"{first} {last}",
                              "Email": f"{login}@nuvola.example", "Username": f"{login}@nuvola.example",
                              "IsActive": int(active), "Department": dept, "Title": title, "ManagerId": manager,
                              "LanguageLocaleKey": loc, "CreatedById": integ, "CreatedDate": created,
                              "LastModifiedDate": created + r.randint(0, 300) * DAY_MS,
                              "SystemModstamp": created + r.randint(0, 300) * DAY_MS})

        locale = {"fr": "fr_FR", "eu": "fr_FR", "en": "en_GB", "de": "de_DE", "nl": "nl_NL", "es": "es_ES", "sv": "sv_SE"}
        for dept, _regions, culture in tb.TEAMS:
            mgr = add_user(*self.person(culture), dept, "Sales Manager", None, True, locale[culture])
            reps_by_team[dept] = []
            for i in range(reps_per_team):
                active = r.random() > 0.14 or i == 0
                reps_by_team[dept].append(add_user(*self.person(culture), dept, "Account Executive", mgr, active,
                                                   locale[culture]))
        support = [add_user(*self.person(c), "Customer Success", "Support Engineer", None, True, locale[c])
                   for c in ("fr", "fr", "en", "de", "fr")]
        users.flush()
        teams_for_region = {reg: [d for d, regs, _c in tb.TEAMS if reg in regs] for reg in tb.REGION_PROFILE}

        # Accounts and contacts
        accounts_b, contacts_b = Batch(st, "Account"), Batch(st, "Contact")
        regions = list(tb.REGION_PROFILE)
        region_w = [tb.REGION_PROFILE[x][0] for x in regions]
        accounts: list[dict] = []
        names_seen: set[str] = set()
        for i in range(self.n(ACCOUNTS)):
            region = r.choices(regions, region_w)[0]
            _w, fr_share, culture, country, cities = tb.REGION_PROFILE[region]
            basque = (region == "Pays Basque" and r.random() < 0.7) or (region == "Iberia" and r.random() < 0.15) or \
                     (region == "France-Sud" and r.random() < 0.04)
            name_culture = "eu" if basque and r.random() < 0.6 else culture
            if name_culture not in tb.COMPANY_WORDS:
                name_culture = "fr"
            a, b, c = tb.COMPANY_WORDS[name_culture]
            name = f"{r.choice(a)}{'' if b[0].startswith(' ') or name_culture == 'sv' else ' '}" \
                   f"{r.choice(b).lstrip() if name_culture == 'fr' else r.choice(b)}{r.choice(c)}".replace("  ", " ")
            city = r.choice(cities)
            if name in names_seen:
                name = f"{name} ({city})"
            if name in names_seen:
                name = f"{name} {i}"
            names_seen.add(name)
            segment = r.choices(SEGMENTS, (35, 33, 18, 14))[0]
            industry = r.choice(("Public Sector", "Education", "Healthcare")) if segment == "Public Sector" else \
                r.choice([x for x in tb.INDUSTRIES if x != "Public Sector"])
            dept = r.choice(teams_for_region[region])
            owner = r.choice(reps_by_team[dept])
            created = START_MS - r.randint(0, 500) * DAY_MS + r.randint(0, WINDOW_DAYS // 2) * DAY_MS
            mod = min(created + r.randint(0, 400) * DAY_MS, ANCHOR_MS - r.randint(0, 20) * DAY_MS)
            acc_id = accounts_b.add({
                "Name": name, "OwnerId": owner, "Industry": industry, "BillingCountry": country, "BillingCity": city,
                "NumberOfEmployees": {"SMB": r.randint(10, 99), "Mid-Market": r.randint(100, 999),
                                      "Enterprise": r.randint(1000, 25000), "Public Sector": r.randint(50, 5000)}[segment],
                "Region__c": region, "Segment__c": segment, "Speaks_Basque__c": int(basque), "CreatedById": owner,
                "CreatedDate": created, "LastModifiedDate": max(mod, created), "SystemModstamp": max(mod, created)})
            acc = {"id": acc_id, "name": name, "region": region, "segment": segment, "basque": basque,
                   "fr_share": fr_share, "owner": owner, "dept": dept, "culture": culture, "contacts": []}
            for _ in range(r.choice((1, 2, 2, 3))):
                first, last = self.person("eu" if basque and r.random() < 0.5 else culture)
                cid = contacts_b.add({"FirstName": first, "LastName": last, "Name": f"{first} {last}",
                                      "AccountId": acc_id, "OwnerId": owner, "CreatedById": owner,
                                      "Email": f"{_strip_accents(first).lower()}.{_strip_accents(last).lower().replace(' ', '')}"
                                               f"@example.{country[:2].lower()}",
                                      "Title": r.choice(tb.TITLES["en"]), "CreatedDate": created,
                                      "LastModifiedDate": created, "SystemModstamp": created})
                acc["contacts"].append((cid, first))
            accounts.append(acc)
        accounts_b.flush()
        contacts_b.flush()

        # Opportunities
        opps_b = Batch(st, "Opportunity")
        opps: list[dict] = []
        amount_range = {"SMB": (5_000, 30_000), "Mid-Market": (20_000, 120_000), "Enterprise": (80_000, 400_000),
                        "Public Sector": (30_000, 250_000)}
        for _ in range(self.n(OPPORTUNITIES)):
            acc = r.choice(accounts)
            t = r.random() ** 0.85
            created = START_MS + int(t * (WINDOW_DAYS - 5) * DAY_MS) + r.randint(8, 18) * 3_600_000 + r.randint(0, 3599) * 1000
            close_ms = created + r.randint(14, 150) * DAY_MS
            owner = acc["owner"] if r.random() < 0.8 else r.choice(reps_by_team[acc["dept"]])
            lo, hi = amount_range[acc["segment"]]
            amount = float(round(math.exp(r.uniform(math.log(lo), math.log(hi))) / 500) * 500)
            theme = detail_theme = None
            loss_reason = detail = competitor = None
            if close_ms < ANCHOR_MS - 10 * DAY_MS:
                u = r.random()
                stage = "Closed Lost" if u < 0.45 else ("Closed Won" if u < 0.86 else r.choice(STAGES[2:5]))
            else:
                stage = r.choice(STAGES[:5])
            lang = self.lang_for(acc)
            contact_id, person = r.choice(acc["contacts"])
            if stage == "Closed Lost":
                if r.random() < 0.86:
                    theme = self.pick_theme(t, acc)
                    th = tb.THEMES[theme]
                    loss_reason = th["reason"] if r.random() < 0.74 else r.choice(
                        [x for x in ("Price", "Timing", "No Decision", "Other", "Competitor", "Missing Feature")
                         if x != th["reason"]])
                    u = r.random()
                    detail_theme = theme if u >= 0.08 else None
                    if u < 0.08:
                        detail = r.choice(tb.LOSS_SHORT[lang])
                    elif u < 0.55:
                        detail = self.feedback_clause(theme, lang, person)
                    else:
                        detail = self.note(lang, person, theme)
                    competitor = th.get("competitor") or (r.choice(("Stratocloud", "Brumeo", "Vantix", "Orbital CRM",
                                                                    "Kestrel Suite", "In-house build"))
                                                          if r.random() < 0.4 else None)
                else:
                    loss_reason = r.choice(("No Decision", "Timing", "Budget Cut", "Other", None))
                    detail = r.choice(tb.NO_FEEDBACK_LOSS[lang]) if r.random() < 0.8 else None
            elif r.random() < 0.45:
                theme = self.pick_theme(t, acc)  # an open or won deal whose notes still carry feedback
            closed = stage in ("Closed Won", "Closed Lost")
            mod = min(close_ms + r.randint(0, 5) * DAY_MS, ANCHOR_MS - r.randint(1, 3000) * 60_000) if closed else \
                min(created + r.randint(0, 60) * DAY_MS, ANCHOR_MS - r.randint(1, 3000) * 60_000)
            mod = max(mod, created + 60_000)
            users_n = r.randint(10, 400)
            desc = None
            if r.random() < 0.4:
                desc = (f"Déploiement Nuvola Hub sur {r.randint(1, 20)} sites, {users_n} utilisateurs" if lang == "fr"
                        else f"Nuvola Hub rollout across {r.randint(1, 20)} sites, {users_n} users")
            opp_id = opps_b.add({
                "Name": f"{acc['name']} - Nuvola Hub {users_n} {'licences' if lang == 'fr' else 'seats'}",
                "AccountId": acc["id"], "OwnerId": owner, "StageName": stage, "IsClosed": int(closed),
                "IsWon": int(stage == "Closed Won"), "Amount": amount, "CurrencyIsoCode": "GBP" if acc["region"] == "UK" else
                ("CHF" if acc["region"] == "DACH" and r.random() < 0.2 else "EUR"), "CloseDate": _date(close_ms),
                "Type": r.choice(("New Business", "New Business", "Expansion", "Renewal")),
                "LeadSource": r.choice(("Web", "Partner", "Event", "Outbound", "Referral")),
                "NextStep": None if closed else r.choice(tb.LOGISTICS[lang]).split("{")[0].strip() or None,
                "Description": desc, "Loss_Reason__c": loss_reason, "Loss_Reason_Detail__c": detail,
                "Competitor__c": competitor, "Region__c": acc["region"], "Segment__c": acc["segment"],
                "Speaks_Basque__c": int(acc["basque"]), "CreatedById": owner, "CreatedDate": created,
                "LastModifiedDate": mod, "SystemModstamp": mod})
            if detail_theme:
                self.truth.append(("Opportunity", opp_id, "Loss_Reason_Detail__c", detail_theme))
            opps.append({"id": opp_id, "acc": acc, "owner": owner, "created": created,
                         "end": min(close_ms, ANCHOR_MS - DAY_MS), "theme": theme, "t": t})
        opps_b.flush()

        # Tasks and events
        self.activities(Batch(st, "Task"), opps, accounts, reps_by_team, self.n(TASKS), event=False)
        self.activities(Batch(st, "Event"), opps, accounts, reps_by_team, self.n(EVENTS), event=True)

        # Cases
        cases_b = Batch(st, "Case")
        for i in range(self.n(CASES)):
            acc = r.choice(accounts)
            t = r.random() ** 0.9
            created = START_MS + int(t * (WINDOW_DAYS - 2) * DAY_MS) + r.randint(7, 19) * 3_600_000
            lang = self.lang_for(acc)
            contact_id, person = r.choice(acc["contacts"])
            theme = self.pick_theme(t, acc, for_case=True) if r.random() < 0.45 else None
            parts = [r.choice(tb.CASE_LOGISTICS[lang])]
            if theme:
                parts.insert(r.randint(0, 1), self.feedback_clause(theme, lang, person))
            if r.random() < 0.4:
                parts.append(r.choice(tb.CASE_LOGISTICS[lang]))
            status = r.choices(("New", "Working", "Escalated", "Closed"), (8, 12, 5, 75))[0]
            mod = min(created + r.randint(0, 20) * DAY_MS, ANCHOR_MS - r.randint(1, 3000) * 60_000)
            case_id = cases_b.add({"CaseNumber": f"{1000 + i:08d}", "AccountId": acc["id"], "OwnerId": r.choice(support),
                         "ContactId": contact_id, "Subject": r.choice(tb.CASE_SUBJECTS[lang]),
                         "Description": ". ".join(parts), "Status": status,
                         "Priority": r.choice(("High", "Medium", "Medium", "Low")),
                         "Origin": r.choice(("Phone", "Email", "Web", "Chat")), "IsClosed": int(status == "Closed"),
                         "CreatedById": integ, "CreatedDate": created, "LastModifiedDate": max(mod, created),
                         "SystemModstamp": max(mod, created)})
            if theme:
                self.truth.append(("Case", case_id, "Description", theme))
        cases_b.flush()

        # Enhanced notes linked to opportunities (and their owners, as Salesforce does)
        notes_b, links_b = Batch(st, "ContentNote"), Batch(st, "ContentDocumentLink")
        for _ in range(self.n(NOTES)):
            opp = r.choice(opps)
            acc = opp["acc"]
            lang = self.lang_for(acc)
            _cid, person = r.choice(acc["contacts"])
            theme = opp["theme"] if opp["theme"] and r.random() < 0.7 else (
                self.pick_theme(opp["t"], acc) if r.random() < 0.35 else None)
            paragraphs = [self.note(lang, person, theme if i == 0 else None) for i in range(r.randint(1, 3))]
            body = "".join(f"<p>{_html(p)}</p>" for p in paragraphs)
            created = opp["created"] + r.randint(0, max(1, (opp["end"] - opp["created"]) // DAY_MS)) * DAY_MS
            created = min(created, ANCHOR_MS - DAY_MS)
            mod = min(created + r.randint(0, 3) * DAY_MS, ANCHOR_MS - 60_000)
            text = "\n".join(paragraphs)
            note_id = notes_b.add({"Title": f"{r.choice(tb.NOTE_TITLES[lang])} {_date(created)}", "Content": body,
                                   "TextPreview": text[:255], "OwnerId": opp["owner"], "FileType": "SNOTE",
                                   "ContentSize": len(body.encode("utf-8")),
                                   "CreatedById": opp["owner"], "CreatedDate": created, "LastModifiedDate": mod})
            if theme:
                self.truth.append(("ContentNote", note_id, "Content", theme))
            links_b.add({"ContentDocumentId": note_id, "LinkedEntityId": opp["id"], "ShareType": "V",
                         "Visibility": "AllUsers", "SystemModstamp": mod})
            links_b.add({"ContentDocumentId": note_id, "LinkedEntityId": opp["owner"], "ShareType": "I",
                         "Visibility": "AllUsers", "SystemModstamp": mod})
            if r.random() < 0.3:
                links_b.add({"ContentDocumentId": note_id, "LinkedEntityId": acc["id"], "ShareType": "V",
                             "Visibility": "AllUsers", "SystemModstamp": mod})
        notes_b.flush()
        links_b.flush()
        st.set_counter("a0R", 0)
        st.conn.execute("CREATE TABLE IF NOT EXISTS _truth (sobject TEXT, id TEXT, field TEXT, theme TEXT)")
        st.conn.executemany("INSERT INTO _truth VALUES (?, ?, ?, ?)", self.truth)

    def activities(self, batch: Batch, opps: list[dict], accounts: list[dict], reps_by_team: dict, count: int,
                   *, event: bool) -> None:
        r = self.rng
        kind = "Event" if event else "Task"
        for _ in range(count):
            if r.random() < 0.86:
                opp = r.choice(opps)
                acc, what, owner = opp["acc"], opp["id"], opp["owner"]
                span = max(0, (opp["end"] - opp["created"]) // DAY_MS)
                when = opp["created"] + r.randint(0, span) * DAY_MS
                opp_theme = opp["theme"]
            else:
                acc = r.choice(accounts)
                what, owner = acc["id"], acc["owner"]
                when = START_MS + r.randint(0, WINDOW_DAYS - 1) * DAY_MS
                opp_theme = None
            when = min(when, ANCHOR_MS - DAY_MS) + r.randint(8, 18) * 3_600_000 + r.randint(0, 59) * 60_000
            t = (when - START_MS) / (WINDOW_DAYS * DAY_MS)
            lang = self.lang_for(acc)
            who, person = r.choice(acc["contacts"])
            theme = None
            if r.random() < (0.33 if not event else 0.28):
                theme = opp_theme if opp_theme and r.random() < 0.65 else self.pick_theme(t, acc)
            desc = self.note(lang, person, theme) if r.random() < 0.93 else None
            mod = min(when + r.randint(0, 2) * DAY_MS + r.randint(0, 3600) * 1000, ANCHOR_MS - r.randint(1, 600) * 60_000)
            mod = max(mod, when)
            rec = {"Subject": r.choice(tb.SUBJECTS[kind][lang]), "Description": desc, "WhatId": what, "WhoId": who,
                   "AccountId": acc["id"], "OwnerId": owner, "ActivityDate": _date(when), "CreatedById": owner,
                   "CreatedDate": when, "LastModifiedDate": mod, "SystemModstamp": mod}
            if event:
                minutes = r.choice((30, 45, 60, 60, 90, 120))
                rec.update({"StartDateTime": when, "EndDateTime": when + minutes * 60_000, "DurationInMinutes": minutes})
            else:
                status = "Completed" if when < ANCHOR_MS - 7 * DAY_MS or r.random() < 0.5 else "Not Started"
                rec.update({"Status": status, "Priority": r.choice(("Normal", "Normal", "High", "Low")),
                            "IsClosed": int(status == "Completed"),
                            "TaskSubtype": r.choice(("Call", "Call", "Email", "Task"))})
            rec_id = batch.add(rec)
            if theme and desc:
                self.truth.append((kind, rec_id, "Description", theme))
        batch.flush()


def _html(text: str) -> str:
    import html
    return html.escape(text).replace("\n", "<br>")


def checksum(path: Path) -> str:
    """A digest of every seeded row, to prove that a (scale, seed) always gives the same org."""
    import hashlib
    import sqlite3
    digest = hashlib.sha256()
    conn = sqlite3.connect(str(path))
    try:
        for name in OBJECTS:
            for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
                digest.update(repr(row).encode("utf-8"))
    finally:
        conn.close()
    return digest.hexdigest()
