"""Console accounts: list, add, change role, set password, disable and enable (console, API
and CLI share these).

The store always keeps at least one active super administrator: disabling or demoting the
last one is refused. Disabling an account revokes its API tokens, so they stop working at
once and stay dead if the account is enabled again. A new password ends every session the
account had (its API tokens keep working). Every change is written to the audit log, by
the signed-in account (``by``) or, without one, by the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tenantsync.console.audit import record, record_cli
from tenantsync.console.ops.paging import Page, paginate
from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.accounts import create_account
from tenantsync.store.accounts import set_password as store_password
from tenantsync.store.models import ApiToken, ConsoleAccount, Role
from tenantsync.store.search import address_matches
from tenantsync.timeutil import utcnow

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal


class LastSuperAdmin(ConfigError):
    """The change would leave no active super administrator."""


class OwnPassword(ConfigError):
    """Someone tried to set their own password without giving the current one."""


def list_accounts(session: Session, page: int, per_page: int, q: str = "") -> Page[ConsoleAccount]:
    """Accounts by email, optionally those whose email contains ``q``."""
    stmt = select(ConsoleAccount).order_by(ConsoleAccount.email)
    if q:
        stmt = stmt.where(address_matches(ConsoleAccount.email, q))
    return paginate(session, stmt, page, per_page)


def all_accounts(session: Session) -> list[ConsoleAccount]:
    """Every account by email (for the CLI)."""
    return list(session.scalars(select(ConsoleAccount).order_by(ConsoleAccount.email)))


def get_account(session: Session, account_id: int) -> ConsoleAccount:
    """The account with this id, or NotFound."""
    account = session.get(ConsoleAccount, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


def account_by_email(session: Session, email: str) -> ConsoleAccount:
    """The account with this email, or NotFound."""
    wanted = email.strip().lower()
    account = session.scalar(select(ConsoleAccount).where(ConsoleAccount.email == wanted))
    if account is None:
        raise NotFound(f"no account {wanted}")
    return account


def _audit(
    session: Session, by: Principal | None, action: str, account: ConsoleAccount, **detail: object
) -> None:
    if by is None:
        record_cli(session, action, account.email, detail)
    else:
        record(session, by, action, account.email, detail)


def add_account(
    session: Session, email: str, password: str, role: Role, *, by: Principal | None = None
) -> ConsoleAccount:
    """A new account with an initial password (argon2); the email must be free."""
    account = create_account(session, email, password, role)
    _audit(session, by, "account.create", account, role=role.value)
    return account


def set_role(
    session: Session, account: ConsoleAccount, role: Role, *, by: Principal | None = None
) -> bool:
    """Give the account ``role``; whether anything changed. Never demotes the last super
    administrator."""
    if account.role is role:
        return False
    if account.role is Role.SUPER_ADMIN and not account.disabled:
        _keep_a_super_admin(session, account, "demoted")
    before = account.role
    account.role = role
    session.flush()
    _audit(session, by, "account.role", account, **{"from": before.value, "to": role.value})
    return True


def set_password(
    session: Session, account: ConsoleAccount, password: str, *, by: Principal | None = None
) -> None:
    """A new password (argon2, at least 12 characters); every session of the account ends."""
    store_password(account, password)
    session.flush()
    _audit(session, by, "account.password", account)


def reset_password(
    session: Session, account: ConsoleAccount, password: str, *, by: Principal | None = None
) -> None:
    """Set another account's password (for someone who lost theirs); a signed-in account
    changes its own only with the current password, through Your account."""
    if by is not None and by.account_id == account.id:
        raise OwnPassword(
            "change your own password under Your account, which asks for the current one"
        )
    set_password(session, account, password, by=by)


def set_disabled(
    session: Session, account: ConsoleAccount, disabled: bool, *, by: Principal | None = None
) -> int:
    """Disable or enable the account; disabling revokes its live API tokens (how many is
    returned). Never disables the last super administrator."""
    if account.disabled is disabled:
        return 0
    revoked = 0
    if disabled:
        if account.role is Role.SUPER_ADMIN:
            _keep_a_super_admin(session, account, "disabled")
        now = utcnow()
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
            .where(or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        revoked = int(getattr(result, "rowcount", 0) or 0)
    account.disabled = disabled
    session.flush()
    if disabled:
        _audit(session, by, "account.disable", account, tokens_revoked=revoked)
    else:
        _audit(session, by, "account.enable", account)
    return revoked


def _keep_a_super_admin(session: Session, account: ConsoleAccount, verb: str) -> None:
    """Refuse unless another active super administrator exists (rows locked on PostgreSQL,
    so two concurrent demotions cannot both pass)."""
    others = session.scalars(
        select(ConsoleAccount.id)
        .where(
            ConsoleAccount.role == Role.SUPER_ADMIN,
            ConsoleAccount.disabled.is_(False),
            ConsoleAccount.id != account.id,
        )
        .with_for_update()
    ).all()
    if not others:
        raise LastSuperAdmin(
            f"{account.email} is the last active super administrator and cannot be {verb}; "
            "make another account super administrator first"
        )
