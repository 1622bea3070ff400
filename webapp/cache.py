"""Per-process caches: whole pages (the board, a theme) and the heavy reads behind them (sparklines, filtered
boards, the evidence page, monthly figures, deals, filter values).

Pages: ``cached_page`` keeps the HTML of a GET page per (path and query string, language, role, data version).
The data version (``queries.VERSION_COLUMNS``: maxima on indexed or tiny tables) moves with every curation,
decision, theme pass, pause switch and synced object, so what anyone just did shows on the next request, in
every worker. It is read with the signed-in user in one autocommit query (``security._load_user``), so a hit
costs one round trip to the database and opens no ORM session. What differs between two people of the same role and language is rendered as slots (the CSRF
token, the e-mail in the header) and filled in per request, so a cached page holds no one's secret; a page
with a flashed message pending is rendered for that request only. The fragments' keys include the theme's
``updated_at`` and/or the data version, or the fragment's content itself.

Anything else (the weekly buckets moving with the clock, a write whose timestamp is older than a newer one
already committed) is at most ``ttl`` seconds old (60 s by default, ``app.config["RETOUR_CACHE_SECONDS"]``; 0
disables every cache). Bounded: the least recently stored entries are dropped beyond ``max_entries``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

from flask import current_app, g, request, session
from flask_babel import get_locale
from markupsafe import Markup, escape

T = TypeVar("T")

# Slots in a cached page, filled per request. Each holds "<", which autoescaping turns into "&lt;", so no text
# from the CRM or a person can ever produce one.
CSRF_SLOT = Markup("<retour-slot csrf>")
EMAIL_SLOT = Markup("<retour-slot email>")
PAGE_ENTRIES = 256  # pages are 40-120 KB: at most ~30 MB per worker
# Measured figures per scope (the filters): up to ~3 MB each with 2,000 themes that all match; a few dozen scopes
# are read in an hour, the least recently stored go first.
FIGURE_ENTRIES = 48


class TTLCache:
    def __init__(self, ttl: float, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, list] = {}

    def get(self, key: Hashable, ttl: float | None = None) -> Any | None:
        ttl = self.ttl if ttl is None else ttl
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and self.clock() - hit[0] < ttl:
            return hit[1]
        return None

    def put(self, key: Hashable, value: Any, at: float | None = None) -> None:
        with self._lock:
            self._data[key] = (self.clock() if at is None else at, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], ttl: float | None = None) -> T:
        ttl = self.ttl if ttl is None else ttl
        if ttl <= 0:
            return compute()
        now = self.clock()
        hit = self.get(key, ttl)
        if hit is not None:
            return hit
        value = compute()  # outside the lock: two threads may compute the same key once, which is harmless
        self.put(key, value, now)
        return value

    @contextlib.contextmanager
    def single_flight(self, key: Hashable) -> Iterator[None]:
        """Let one thread at a time compute ``key``: after an invalidation, 20 clients asking for the same page
        wait for one rendering instead of doing 20."""
        with self._lock:
            entry = self._inflight.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._inflight[key]


def cached(key: Hashable, compute: Callable[[], T], *, lasting: bool = False) -> T:
    """``compute()`` once per ``key`` for ``RETOUR_CACHE_SECONDS``; ``lasting`` for ``RETOUR_FRAGMENT_SECONDS``
    (an hour by default), only for keys that name every input: content itself, or a theme's ``updated_at`` with the
    parts of the data version that cover the rest (a row's own version has no commit-order race; a MAX over rows
    does, which the short TTL bounds)."""
    cache: TTLCache = current_app.extensions["retour.cache"]
    ttl = float(current_app.config["RETOUR_CACHE_SECONDS"])
    if lasting and ttl > 0:
        ttl = max(ttl, float(current_app.config["RETOUR_FRAGMENT_SECONDS"]))
    return cache.get_or_compute(key, compute, ttl)


class KeptFigures:
    """``queries.FigureCache`` on this process's caches: its keys name every input (scope, day, sync and each
    theme's evidence fingerprint inside the value), so entries last ``RETOUR_FRAGMENT_SECONDS``. Measured figures
    (keys starting "figures") have their own bounded cache: a page's sparklines never push them out."""

    def __init__(self, figures: TTLCache, other: TTLCache, ttl: float) -> None:
        self.figures, self.other, self.ttl = figures, other, ttl

    def _cache(self, key: Hashable) -> TTLCache:
        return self.figures if isinstance(key, tuple) and key[:1] == ("figures",) else self.other

    def get(self, key: Hashable) -> Any | None:
        return self._cache(key).get(key, self.ttl) if self.ttl > 0 else None

    def put(self, key: Hashable, value: Any) -> None:
        if self.ttl > 0:
            self._cache(key).put(key, value)


def figure_cache() -> Any:
    """Where this request reads figures from (``queries.RequestFigures``): its own reads first, then what the
    process kept from earlier requests (nothing is kept when caching is off)."""
    from webapp.queries import RequestFigures

    if "figure_cache" not in g:
        ttl = float(current_app.config["RETOUR_CACHE_SECONDS"])
        if ttl > 0:
            ttl = max(ttl, float(current_app.config["RETOUR_FRAGMENT_SECONDS"]))
        g.figure_cache = RequestFigures(KeptFigures(current_app.extensions["retour.figure_cache"],
                                                    current_app.extensions["retour.cache"], ttl))
    return g.figure_cache


def rendering_slots() -> bool:
    """True while a page is rendered for the page cache: per-user values must be written as slots."""
    return bool(g.get("page_slots"))


def cached_page(render: Callable[[], Any]) -> Any:
    """Serve this GET page from the page cache, rendering it with ``render`` on a miss.

    ``render`` returns the page's HTML (cached) or a response such as a redirect (passed through, not cached).
    """
    from webapp.security import csrf_token, signed_in

    ttl = float(current_app.config["RETOUR_CACHE_SECONDS"])
    user = signed_in()
    if ttl <= 0 or user is None or request.method != "GET" or "_flashes" in session:
        return render()
    pages: TTLCache = current_app.extensions["retour.page_cache"]
    # The version was read with the signed-in user, before any of the page's data: the page stored under it is
    # at least that new.
    key = (request.full_path, str(get_locale()), user.role, g.data_version)
    html = pages.get(key, ttl)
    if html is None:
        with pages.single_flight(key):
            html = pages.get(key, ttl)
            if html is None:
                started = pages.clock()
                g.page_slots = True
                try:
                    result = render()
                finally:
                    g.page_slots = False
                if not isinstance(result, str):
                    return result
                html = result
                pages.put(key, html, started)
    return html.replace(CSRF_SLOT, csrf_token()).replace(EMAIL_SLOT, escape(user.email))


def init_app(app) -> None:
    app.config.setdefault("RETOUR_CACHE_SECONDS", 60)
    app.config.setdefault("RETOUR_FRAGMENT_SECONDS", 3600)
    app.extensions["retour.cache"] = TTLCache(60)
    app.extensions["retour.page_cache"] = TTLCache(60, max_entries=PAGE_ENTRIES)
    app.extensions["retour.figure_cache"] = TTLCache(60, max_entries=FIGURE_ENTRIES)
