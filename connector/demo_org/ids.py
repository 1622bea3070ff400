"""Salesforce record Ids: 15-character case-sensitive Ids and their 18-character case-safe form."""

from __future__ import annotations

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def checksum(id15: str) -> str:
    """The 3-character suffix Salesforce appends so that an Id survives case-insensitive systems."""
    out = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out.append(_ALPHABET[bits])
    return "".join(out)


def to18(value: str) -> str:
    if len(value) == 15:
        return value + checksum(value)
    if len(value) == 18:
        return value[:15] + checksum(value[:15])
    return value


def make_id(prefix: str, number: int, pod: str = "7R") -> str:
    """A valid 18-character Id: key prefix, a pod-like pair, a base-62 counter and the checksum."""
    digits = []
    n = number
    for _ in range(10):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    id15 = prefix + pod + "".join(reversed(digits))
    return id15 + checksum(id15)
