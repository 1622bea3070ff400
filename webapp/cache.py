"""A small per-process cache for the board's and theme page's heavy reads (sparklines, filtered boards, the
evidence page, monthly figures, deals, filter values).

Why it is safe: those figures change when a sync or a theme pass runs (hourly by default) or when a person
curates. Keys include the theme's ``updated_at`` and/or the data version (latest theme update, latest
curation event: ``queries.data_version``), which every curation and every theme pass moves, so what a person
just did shows at once; anything else (a synced edit to a quote's text) is at most ``ttl`` seconds old (60 s by default,
``app.config["RETOUR_CACHE_SECONDS"]``; 0 disables it). The theme rows, the evidence list and decisions are
never cached. Bounded: the oldest entries are dropped beyond ``max_entries``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")


class TTLCache:
    def __init__(self, ttl: float, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], ttl: float | None = None) -> T:
        ttl = self.ttl if ttl is None else ttl
        if ttl <= 0:
            return compute()
        now = self.clock()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and now - hit[0] < ttl:
                return hit[1]
        value = compute()  # outside the lock: two threads may compute the same key once, which is harmless
        with self._lock:
            self._data[key] = (now, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    cache: TTLCache = current_app.extensions["retour.cache"]
    return cache.get_or_compute(key, compute, float(current_app.config["RETOUR_CACHE_SECONDS"]))


def init_app(app) -> None:
    app.config.setdefault("RETOUR_CACHE_SECONDS", 60)
    app.extensions["retour.cache"] = TTLCache(60)
