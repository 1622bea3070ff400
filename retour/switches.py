"""Runtime switches kept in the database, shared by the web UI and the jobs (the global push pause)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from retour.models import AppSetting, utcnow

PUSH_PAUSE = "push_paused"


def is_push_paused(session: Session) -> bool:
    """True while a person has paused every push; checked before every batch is sent."""
    row = session.get(AppSetting, PUSH_PAUSE)
    return bool(row and row.value.get("paused"))


def set_push_paused(session: Session, paused: bool, *, user_id: int | None = None, reason: str = "") -> None:
    row = session.get(AppSetting, PUSH_PAUSE)
    value = {"paused": paused, "reason": reason, "at": utcnow().isoformat()}
    if row is None:
        session.add(AppSetting(key=PUSH_PAUSE, value=value, updated_by_id=user_id))
    else:
        row.value = value
        row.updated_by_id = user_id
    session.flush()
