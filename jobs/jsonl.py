"""Reading the line-per-record JSON files the discovery command takes (texts, seeds): one place for their errors."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# A byte that is not UTF-8, as the "surrogateescape" error handler decodes it: the file is read as text so that its
# lines are cut and counted as written, and such a byte is found (and its line named) after the line is read.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
# Half of a UTF-16 pair: valid JSON ("\ud83d", an emoji cut by an export), but no UTF-8 encoder writes it.
_HALF_PAIR = re.compile("[\ud800-\udfff]")
BROKEN = "holds a broken character (half of a UTF-16 pair, e.g. a cut emoji): fix the export"
BOM = "\ufeff"


def records(path: Path, error: type[Exception]) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) of each non-blank line; any unreadable line raises ``error`` naming it.

    A UTF-8 byte order mark is skipped (Excel writes one at the start of a file, and ``cat`` of two such files
    leaves one at the start of a line).
    """
    try:
        fh = open(path, encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror}).") from None
    with fh:
        for n, line in enumerate(fh, 1):
            bad = _NOT_UTF8.search(line)
            if bad:
                raise error(f"{path}:{n}: not UTF-8 text. Save or export the file as UTF-8 and run again "
                            f"(character {bad.start() + 1} of the line is the byte 0x{ord(bad.group()) - 0xDC00:02X}).")
            line = line.removeprefix(BOM)
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{n}: not valid JSON ({exc.msg}).") from None
            except ValueError as exc:  # a number of more than 4,300 digits
                raise error(f"{path}:{n}: not valid JSON ({str(exc).split(':')[0]}).") from None
            except RecursionError:
                raise error(f"{path}:{n}: not valid JSON (nested too deeply).") from None


def has_half_pair(text: str) -> bool:
    return _HALF_PAIR.search(text) is not None


def mend(text: str) -> str:
    """``text`` with each half of a UTF-16 pair replaced by U+FFFD, so the rest of it can be stored and read."""
    return _HALF_PAIR.sub("\ufffd", text)


def record_id(value: Any, where: str, error: type[Exception]) -> str:
    """The id of a line as the text it is known by; ``where`` is "<file>:<line>".

    Only a string or a number is an id: ``str()`` of anything else made {"id": null} the id "None", a duplicate of
    {"id": "None"}. An id must come back exactly as written, so a broken character in it is refused, not mended.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise error(f'{where}: "id" must be a string or a number, not {json.dumps(value)[:40]}.')
    text = str(value)
    if has_half_pair(text):
        raise error(f"{where}: the id {text!r} {BROKEN}.")
    return text
