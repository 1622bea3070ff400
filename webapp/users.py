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


class LastAdminError(UserError):
    """The change would leave no active administrator: nobody could manage accounts any more (the web page words
    it for the reader; ``retour user add`` can still make one from the server)."""


class AccountDeactivated(UserError):
    """The e-mail and password are right but an administrator deactivated the account. Raised only after the
    password matched, so it tells nothing to someone who does not know the password."""


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


def active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AppUser)
                          .where(AppUser.role == "admin", AppUser.is_active.is_(True))) or 0


def _keep_an_admin(session: Session, user: AppUser, *, role: str, active: bool) -> None:
    """Refuse a change that takes the last active administrator's power away (themselves or anyone)."""
    if user.role == "admin" and user.is_active and not (role == "admin" and active) and active_admins(session) <= 1:
        raise LastAdminError(f"{user.email} is the last active administrator.")


def set_role(session: Session, user: AppUser, role: str) -> bool:
    """Give the account another role and end its open sessions, so the new role holds from its next request
    (a session keeps no copy of the role, but a demoted person must not keep a page whose forms they may no
    longer send). False when the role is already that one (nothing changes). The caller commits."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}.")
    if role == user.role:
        return False
    _keep_an_admin(session, user, role=role, active=user.is_active)
    user.role = role
    end_sessions(user)
    session.flush()
    return True


def set_active(session: Session, user: AppUser, active: bool) -> bool:
    """Deactivate (or reactivate) the account; deactivating ends its open sessions at their next request and
    refuses its logins. False when nothing changes. The caller commits."""
    if bool(user.is_active) == active:
        return False
    _keep_an_admin(session, user, role=user.role, active=active)
    user.is_active = active
    end_sessions(user)
    session.flush()
    return True


def authenticate(session: Session, email: str, password: str) -> AppUser | None:
    """The active account with this e-mail and password, or None (same work whether the e-mail exists or not).

    Raises AccountDeactivated when the password is right but the account is deactivated: the person is told why
    they cannot sign in, and whoever does not know the password learns nothing."""
    user = find_user(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    if not user.is_active:
        raise AccountDeactivated(f"{user.email} is deactivated.")
    return user
