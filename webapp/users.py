"""Local accounts: hashed passwords (werkzeug's scrypt), three roles, nothing else kept about people."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from retour.models import AppUser

ROLES = ("viewer", "product_owner", "admin")  # in increasing order of power
MIN_PASSWORD = 8
# Checked against when the e-mail is unknown, so a failed login costs the same time either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class UserError(ValueError):
    """An account cannot be created as asked; the message says why."""


def role_rank(role: str | None) -> int:
    return ROLES.index(role) if role in ROLES else -1


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> AppUser | None:
    return session.scalar(select(AppUser).where(func.lower(AppUser.email) == normalise_email(email)))


def create_or_reset_user(session: Session, email: str, password: str, *, role: str) -> AppUser:
    """Create the account, or reset its password and role when it exists (the caller commits)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 255:
        raise UserError(f"{email!r} is not an e-mail address.")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}.")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters.")
    user = find_user(session, email)
    hashed = generate_password_hash(password, method="scrypt")
    if user is None:
        user = AppUser(email=email, password_hash=hashed, role=role)
        session.add(user)
    else:
        user.password_hash = hashed
        user.role = role
        user.is_active = True
        end_sessions(user)  # a new password or role: whoever held the old session must sign in again
    session.flush()
    return user


def end_sessions(user: AppUser) -> None:
    """End every open session of the account at its next request (the caller commits)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def authenticate(session: Session, email: str, password: str) -> AppUser | None:
    """The active account with this e-mail and password, or None (same work whether the e-mail exists or not)."""
    user = find_user(session, email)
    if user is None or not user.is_active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None
