"""Reading the line-per-record JSON files the discovery command takes (texts, seeds): one place for their errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# A byte that is not UTF-8, as the "surrogateescape" error handler decodes it: the file is read as text so that its
# lines are cut and counted as written, and such a byte is found (and its line named) after the line is read.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
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
