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


OPPORTUNITY_FIELDS = {
    "Id": "id", "Name": "string", "AccountId": "reference", "OwnerId": "reference", "StageName": "picklist",
    "IsClosed": "boolean", "IsWon": "boolean", "Amount": "currency", "CurrencyIsoCode": "picklist", "CloseDate": "date",
    "Description": "textarea", "Loss_Reason__c": "picklist", "Loss_Reason_Detail__c": "textarea",
    "Competitor__c": "picklist", "Region__c": "picklist", "Segment__c": "picklist", "Speaks_Basque__c": "boolean",
    "IsDeleted": "boolean", "CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime",
}


def describe_body(name: str, fields: dict[str, str], prefix: str = "006") -> dict:
    """The parts of `GET sobjects/X/describe` Retour reads, in Salesforce's shape."""
    return {"name": name, "label": name, "keyPrefix": prefix, "custom": False, "queryable": True, "replicateable": True,
            "fields": [{"name": n, "label": n.replace("__c", "").replace("_", " "), "type": t,
                        "length": 32000 if t == "textarea" else (18 if t in ("id", "reference") else 255),
                        "nillable": n != "Id", "custom": n.endswith("__c")} for n, t in fields.items()],
            "childRelationships": [], "recordTypeInfos": [], "urls": {}}


def wipe(engine) -> None:
    """Delete every row (children first). Connector tests commit for real, page by page, so they clean up after
    themselves instead of relying on the rolled-back outer transaction (pysqlite's SAVEPOINT handling lets a
    RELEASE commit when no BEGIN was emitted)."""
    from retour.models import Base
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
