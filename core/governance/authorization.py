"""Who may do what: the one place that decides. Functions take the Principal and plain facts about the
resource (its org, its owner, whether the caller is a member or admin of its team, the resolved governance
scope); the domain code reads those facts from the database and asks here.

Two kinds of answers: visibility (a resource or scope the caller may not see answers NOT_FOUND exactly as one
that does not exist, so there is no existence oracle across orgs), and whether a visible resource may be
changed or read (PERMISSION_DENIED, naming nobody)."""

from __future__ import annotations

import enum
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


def may_see_org(p: Principal, org_id: str) -> bool:
    """Admins see every org; a person sees their own org."""
    return is_admin(p) or (p.service_account_id is None and p.org_id == org_id)


def may_see_user(p: Principal, user_id: str, user_org_id: str) -> bool:
    """Yourself; as an org-admin, the users of your org."""
    if p.service_account_id is not None:
        return False
    return user_id == p.user_id or is_org_admin_of(p, user_org_id)


def may_manage_user(p: Principal, user_id: str, user_org_id: str, user_role: Role) -> bool:
    """Act on a user's behalf (e.g. their tokens): yourself; or as org-admin anyone of your org but admins
    (that would hand over admin powers)."""
    if p.service_account_id is not None:
        return False
    if user_id == p.user_id or is_admin(p):
        return True
    return is_org_admin_of(p, user_org_id) and user_role is not Role.ADMIN


def may_administer_user(p: Principal, user_org_id: str, user_role: Role) -> bool:
    """Change a user's role or delete them: org-admins of their org, and only admins touch admins."""
    return is_org_admin_of(p, user_org_id) and (user_role is not Role.ADMIN or is_admin(p))


def may_see_team(p: Principal, org_id: str, *, member: bool) -> bool:
    """Org-admins (and admins) see their org's teams; a person sees the teams they belong to."""
    return is_org_admin_of(p, org_id) or (p.service_account_id is None and member)


def may_manage_team_accounts(p: Principal, org_id: str, *, team_admin: bool) -> bool:
    """A team's service accounts are managed by its team admins and the org's org-admins."""
    return is_org_admin_of(p, org_id) or (p.service_account_id is None and team_admin)


def may_see_service_account(p: Principal, org_id: str, owner_id: str, *, team_admin: bool) -> bool:
    """Its managers, and its owner."""
    if p.service_account_id is not None:
        return False
    return owner_id == p.user_id or may_manage_team_accounts(p, org_id, team_admin=team_admin)


def may_see_token(
    p: Principal, token_id: str, owner_id: str, owner_org_id: str, *, account_org_id: str | None, team_admin: bool
) -> bool:
    """A service account sees its own token. A personal token: its owner and the owner's org-admins. A service
    account's token: whoever may see the account (`account_org_id` is the account's org, None for personal
    tokens)."""
    if p.service_account_id is not None:
        return token_id == p.token_id
    if account_org_id is not None:
        return may_see_service_account(p, account_org_id, owner_id, team_admin=team_admin)
    return owner_id == p.user_id or is_org_admin_of(p, owner_org_id)


def may_manage_token(
    p: Principal, owner_id: str, owner_org_id: str, owner_role: Role, *, account_org_id: str | None, team_admin: bool
) -> bool:
    """Rename, re-expire, regenerate or delete: a personal token as its owner may be managed; a service
    account's token by whoever may see the account."""
    if p.service_account_id is not None:
        return False
    if account_org_id is not None:
        return may_see_service_account(p, account_org_id, owner_id, team_admin=team_admin)
    return may_manage_user(p, owner_id, owner_org_id, owner_role)


def may_name_as_owner(p: Principal, user_id: str, user_org_id: str, *, team_member: bool) -> bool:
    """Who a service account's manager may name as its owner: a user they may see, or a member of its team
    (a team admin sees no other users, but knows the team's members)."""
    return team_member or may_see_user(p, user_id, user_org_id)


class ListScope(enum.Enum):
    """What an unfiltered tenancy listing shows the caller."""

    ALL = "all"  # admins: every org's
    ORG = "org"  # org-admins: their own org's
    OWN = "own"  # everyone else: what is theirs (own tokens, teams they belong to, accounts they own or run)


def list_scope(p: Principal) -> ListScope:
    if is_admin(p):
        return ListScope.ALL
    if is_org_admin_of(p, p.org_id or ""):
        return ListScope.ORG
    return ListScope.OWN


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


def require_mcp_caller(p: Principal) -> None:
    """MCP calls are billed to a token and sessions are bound to one, as for inference."""
    require_inference_caller(p)


def require_operator(p: Principal) -> None:
    """Upstream names, health and load of deployments are operator information."""
    if not p.is_admin:
        raise PermissionDenied("Only admins may see deployment status.")


# --- Files and batches ------------------------------------------------------------------------------------------
# A file or batch belongs to a user (made with a personal token) or to a team (made with a service-account
# token). Whoever is not its owner, nor an admin, gets NOT_FOUND, the same words as for one that does not exist.


def owner_of_new(p: Principal) -> tuple[str | None, str | None, str | None]:
    """(org_id, user_id, team_id) of what the caller creates: their team for a service account, else themselves.
    The bootstrap admin credential owns nothing (PERMISSION_DENIED)."""
    if p.token_id is None:
        raise PermissionDenied("The bootstrap admin credential cannot own files or batches; use an API token.")
    if p.service_account_id is not None:
        return p.org_id, None, p.team_id
    return p.org_id, p.user_id, None


def owns(p: Principal, user_id: str | None, team_id: str | None) -> bool:
    """Whether the caller is the owner: the user for personal tokens, the team for service-account tokens."""
    if p.service_account_id is not None:
        return team_id is not None and team_id == p.team_id
    return user_id is not None and user_id == p.user_id


def require_owned(p: Principal, user_id: str | None, team_id: str | None, name: str, field: str) -> None:
    """The caller's own file or batch, or any for an admin; NOT_FOUND otherwise."""
    if not (owns(p, user_id, team_id) or is_admin(p)):
        raise not_found(name, field)


def require_list_all(p: Principal) -> None:
    """Listing every org's files or batches is for admins."""
    require_admin(p, "only admins list every org's files and batches")
