"""Reading the line-per-record JSON files the discovery command takes (texts, seeds): one place for their errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def records(path: Path, error: type[Exception]) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) of each non-blank line; any unreadable line raises ``error`` naming it."""
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror}).") from None
    with fh:
        n = 0
        try:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise error(f"{path}:{n}: not valid JSON ({exc.msg}).") from None
        except UnicodeDecodeError:
            raise error(f"{path}:{n + 1}: not UTF-8 text.") from None
