"""Who may do what, decided from the Principal alone. Checks that need the database (team admin) live with
the operations that use them."""

from __future__ import annotations

from core.auth.principal import Principal, Role
from core.errors import PermissionDenied


def deny(what: str) -> PermissionDenied:
    return PermissionDenied(f"permission denied: {what}")


def is_admin(p: Principal) -> bool:
    return p.role is Role.ADMIN and p.service_account_id is None


def is_org_admin_of(p: Principal, org_id: str) -> bool:
    """Admins everywhere; org-admins in their own org. Service accounts never administer."""
    if p.service_account_id is not None:
        return False
    return is_admin(p) or (p.role is Role.ORG_ADMIN and p.org_id == org_id)


def require_admin(p: Principal, what: str) -> None:
    if not is_admin(p):
        raise deny(what)


def require_org_admin(p: Principal, org_id: str, what: str) -> None:
    if not is_org_admin_of(p, org_id):
        raise deny(what)


def require_person(p: Principal, what: str) -> None:
    """Service-account tokens call models; they do not manage tenancy."""
    if p.service_account_id is not None:
        raise deny(what)


def may_grant(p: Principal, role: Role) -> bool:
    """Only admins create admins; org-admins may create users and org-admins of their org."""
    return is_admin(p) or (p.role is Role.ORG_ADMIN and role is not Role.ADMIN)
