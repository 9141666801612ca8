"""Who sees which usage, as SQL conditions over usage_records or a rollup table (same column names).

- admin: everything;
- org-admin: their org's usage, plus their own;
- user: their own: the requests of their tokens (personal ones, and service accounts they own);
- service account: its own token's requests.
A requested scope (a resource name: orgs/…, orgs/…/teams/…, users/…, tokens/…) narrows this further and must itself
be visible to the caller (core.governance.authorization.require_usage_scope).

A request's `user_id` field (stored as end_user_id) is whatever the sending token wrote there, so it never makes a
request anyone's own: matching it across orgs let any tenant put records into a victim's view and into the
admin's `--user` count. Records naming a user are reported only when asked for (`include_end_user`), apart
from the user's own, and only from service accounts of teams that user belongs to (the services the user
works with; another team's or org's services naming them stay those services' business)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, Table, and_, or_, select, true

from core.auth.principal import Principal
from core.db.tables import TeamMemberRow
from core.errors import InvalidRequest
from core.governance.access.scope import Scope
from core.governance.authorization import is_admin, is_org_admin_of, require_usage_scope
from core.governance.limits.model import ScopeKind

SCOPE_FIELD = "scope"
END_USER_FIELD = "include_end_user"
_TEAM_MEMBERS = TeamMemberRow.metadata.tables["team_members"]


@dataclass(frozen=True, slots=True)
class EndUser:
    """The user whose email a request's `user_id` field may name."""

    user_id: str
    org_id: str
    email: str


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """The scope condition (from the requested scope), the visibility condition (from the caller), and the
    user whose end-user records are asked for."""

    scope_kind: ScopeKind | None = None
    scope_id: str = ""
    visible_org_id: str | None = None  # org-admins: this org's usage (or their own)
    visible_user_id: str | None = None  # everyone but admins: their own usage
    visible_token_id: str | None = None  # service accounts: only their token
    everything: bool = False
    end_user: EndUser | None = None  # also the records naming this user (see the module's docstring)
    end_user_only: bool = False  # only those records

    def own(self) -> UsageFilter:
        return replace(self, end_user=None, end_user_only=False)

    def named(self) -> UsageFilter:
        return replace(self, end_user_only=True)


def _end_user(p: Principal, scope: Scope | None) -> EndUser:
    if scope is not None and scope.kind is ScopeKind.USER and scope.email:
        return EndUser(scope.id, scope.org_id, scope.email)
    if scope is None and p.service_account_id is None and p.user_id and p.org_id and p.user_email:
        return EndUser(p.user_id, p.org_id, p.user_email)
    raise InvalidRequest(f"{END_USER_FIELD} needs a users/{{email}} scope or a personal token", field=END_USER_FIELD)


def usage_filter(p: Principal, scope: Scope | None, *, include_end_user: bool = False) -> UsageFilter:
    """Raises NotFound / PermissionDenied when the caller may not see the requested scope's usage."""
    if scope is not None:
        require_usage_scope(p, scope, SCOPE_FIELD)
    base = UsageFilter(
        scope_kind=scope.kind if scope is not None else None,
        scope_id=scope.id if scope is not None else "",
        end_user=_end_user(p, scope) if include_end_user else None,
    )
    if is_admin(p):
        return replace(base, everything=True)
    if p.service_account_id is not None:
        return replace(base, visible_token_id=p.token_id or "-")
    org_id = p.org_id if p.org_id is not None and is_org_admin_of(p, p.org_id) else None
    return replace(base, visible_org_id=org_id, visible_user_id=p.user_id or "-")


def _naming(table: Table, who: EndUser) -> ColumnElement[bool]:
    """Records of service accounts of the user's teams whose `user_id` field is the user's email, except the
    user's own (a service account they own is theirs already)."""
    teams = select(_TEAM_MEMBERS.c.team_id).where(_TEAM_MEMBERS.c.user_id == who.user_id)
    return and_(
        table.c.end_user_id == who.email,
        table.c.org_id == who.org_id,
        table.c.team_id.in_(teams),
        table.c.user_id != who.user_id,
    )


def _own(table: Table, f: UsageFilter) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if f.scope_kind is ScopeKind.ORG:
        parts.append(table.c.org_id == f.scope_id)
    elif f.scope_kind is ScopeKind.TEAM:
        parts.append(table.c.team_id == f.scope_id)
    elif f.scope_kind is ScopeKind.TOKEN:
        parts.append(table.c.token_id == f.scope_id)
    elif f.scope_kind is ScopeKind.USER:
        parts.append(table.c.user_id == f.scope_id)
    if not f.everything:
        if f.visible_token_id is not None:
            parts.append(table.c.token_id == f.visible_token_id)
        else:
            visible = table.c.user_id == (f.visible_user_id or "-")
            if f.visible_org_id is not None:
                visible = or_(table.c.org_id == f.visible_org_id, visible)
            parts.append(visible)
    return and_(true(), *parts)


def condition(table: Table, f: UsageFilter) -> ColumnElement[bool]:
    """The caller's own view, or (end_user_only) the records naming f.end_user, or both. The records naming a
    user need no visibility condition of their own: the user is the caller, or a scope the caller may see."""
    if f.end_user is None:
        return _own(table, f)
    if f.end_user_only:
        return _naming(table, f.end_user)
    return or_(_own(table, f), _naming(table, f.end_user))
