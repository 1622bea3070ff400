"""Helpers shared by the connector tests: Salesforce wire payloads, a fake clock, a stubbed client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FIXTURES = Path(__file__).with_name("fixtures") / "salesforce"
INSTANCE = "https://acme.my.salesforce.com"
LOGIN = "https://login.salesforce.com"
BASE = f"{INSTANCE}/services/data/v59.0"
LIMIT = {"Sforce-Limit-Info": "api-usage=25/15000"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def error(code: str, message: str) -> list[dict]:
    return [{"message": message, "errorCode": code}]


def write_private_key(path: Path) -> tuple[Path, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    return path, key.public_key()


def token_body(token: str = "00Dxx!AQ4AQFAKE") -> dict:
    return {"access_token": token, "instance_url": INSTANCE, "id": f"{LOGIN}/id/00Dxx0000001gPFEAY/005xx000001Sv6eAAC",
            "token_type": "Bearer", "issued_at": "1732320000000", "signature": "c2lnbmF0dXJl"}


class Sleeps(list):
    """An injectable sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
