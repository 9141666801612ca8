"""Who may do what, decided from the Principal (and, for governance, the resolved scope). Checks that need the
database (team admin) live with the operations that use them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.auth.principal import Principal, Role
from core.errors import NotFound, PermissionDenied
from core.governance.limits.model import ScopeKind

if TYPE_CHECKING:
    from core.governance.access.scope import Scope


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


# --- Governance settings, usage, inference and operator views -------------------------------------------------
# The scope's org decides first: a scope of another org is NOT_FOUND, word for word what a scope that does not
# exist answers (core.governance.access.scope raises the same not_found), so names cannot be probed across
# tenants. Inside the caller's own org, a refusal is PERMISSION_DENIED.


def not_found(name: str, field: str) -> NotFound:
    return NotFound(f"{name} not found", field=field)


def require_visible(p: Principal, scope: Scope, field: str) -> None:
    if not is_admin(p) and scope.org_id != p.org_id:
        raise not_found(scope.name, field)


def applies_to(p: Principal, scope: Scope) -> bool:
    """Whether the scope's settings apply to the caller: their org, their user, their team (service accounts),
    their token, or (for a person) any of their personal tokens."""
    person = p.service_account_id is None
    if scope.kind is ScopeKind.ORG:
        return scope.id == p.org_id
    if scope.kind is ScopeKind.USER:
        return person and scope.id == p.user_id
    if scope.kind is ScopeKind.TEAM:
        return p.team_id is not None and scope.id == p.team_id
    return scope.id == p.token_id or (person and scope.user_id == p.user_id and scope.service_account_id is None)


def require_manage_scope(p: Principal, scope: Scope, field: str) -> None:
    """Changing rate limits or exclusions: admins, and org-admins inside their org."""
    require_visible(p, scope, field)
    if not is_org_admin_of(p, scope.org_id):
        raise deny(f"only admins and org-admins of its org change the settings of {scope.name}")


def require_read_scope(p: Principal, scope: Scope, field: str) -> None:
    """Reading settings: whoever may change them, and anyone they apply to."""
    require_visible(p, scope, field)
    if not (is_org_admin_of(p, scope.org_id) or applies_to(p, scope)):
        raise deny(f"cannot read the settings of {scope.name}")


def require_usage_scope(p: Principal, scope: Scope, field: str) -> None:
    """Narrowing a usage report to a scope: admins and its org's admins, or the caller's own user or token
    (a person also their personal tokens). An org or team member does not see the whole org's or team's usage."""
    require_visible(p, scope, field)
    if is_org_admin_of(p, scope.org_id):
        return
    if scope.kind in (ScopeKind.ORG, ScopeKind.TEAM) or not applies_to(p, scope):
        raise deny(f"cannot see the usage of {scope.name}")


def require_inference_caller(p: Principal) -> None:
    """Inference is billed to a token, so a principal without one (the bootstrap admin credential) is refused."""
    if p.token_id is None:
        raise PermissionDenied(
            "The bootstrap admin credential is for administration only; call inference endpoints with an API token."
        )


def require_operator(p: Principal) -> None:
    """Upstream names, health and load of deployments are operator information."""
    if not p.is_admin:
        raise PermissionDenied("Only admins may see deployment status.")
