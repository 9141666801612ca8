"""Who sees which usage, as SQL conditions over usage_records or a rollup table (same column names).

- admin: everything;
- org-admin: their org's usage, plus their own;
- user: their own: requests of their tokens, and requests whose `user_id` field is their email;
- service account: its own token's requests.
A requested scope (a resource name: orgs/…, orgs/…/teams/…, users/…, tokens/…) narrows this further and must itself
be visible to the caller (core.governance.authorization.require_usage_scope)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, and_, or_, true

from core.auth.principal import Principal
from core.governance.access.scope import Scope
from core.governance.authorization import is_admin, is_org_admin_of, require_usage_scope
from core.governance.limits.model import ScopeKind

SCOPE_FIELD = "scope"


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """The scope condition (from the requested scope) and the visibility condition (from the caller)."""

    scope_kind: ScopeKind | None = None
    scope_id: str = ""
    scope_email: str = ""  # for a user scope: requests whose user_id field is this email count too
    visible_org_id: str | None = None  # org-admins: this org's usage (or their own)
    visible_user_id: str | None = None  # everyone but admins: their own usage
    visible_email: str | None = None
    visible_token_id: str | None = None  # service accounts: only their token
    everything: bool = False


def usage_filter(p: Principal, scope: Scope | None) -> UsageFilter:
    """Raises NotFound / PermissionDenied when the caller may not see the requested scope's usage."""
    if scope is not None:
        require_usage_scope(p, scope, SCOPE_FIELD)
    base = UsageFilter(
        scope_kind=scope.kind if scope is not None else None,
        scope_id=scope.id if scope is not None else "",
        scope_email=(scope.email or "") if scope is not None else "",
    )
    if is_admin(p):
        return UsageFilter(base.scope_kind, base.scope_id, base.scope_email, everything=True)
    if p.service_account_id is not None:
        return UsageFilter(base.scope_kind, base.scope_id, base.scope_email, visible_token_id=p.token_id or "-")
    org_id = p.org_id if p.org_id is not None and is_org_admin_of(p, p.org_id) else None
    return UsageFilter(
        base.scope_kind,
        base.scope_id,
        base.scope_email,
        visible_org_id=org_id,
        visible_user_id=p.user_id or "-",
        visible_email=p.user_email or None,
    )


def _own(table: Table, user_id: str, email: str | None) -> ColumnElement[bool]:
    condition = table.c.user_id == user_id
    if email:
        condition = or_(condition, table.c.end_user_id == email)
    return condition


def condition(table: Table, f: UsageFilter) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if f.scope_kind is ScopeKind.ORG:
        parts.append(table.c.org_id == f.scope_id)
    elif f.scope_kind is ScopeKind.TEAM:
        parts.append(table.c.team_id == f.scope_id)
    elif f.scope_kind is ScopeKind.TOKEN:
        parts.append(table.c.token_id == f.scope_id)
    elif f.scope_kind is ScopeKind.USER:
        parts.append(_own(table, f.scope_id, f.scope_email or None))
    if not f.everything:
        if f.visible_token_id is not None:
            parts.append(table.c.token_id == f.visible_token_id)
        else:
            visible = _own(table, f.visible_user_id or "-", f.visible_email)
            if f.visible_org_id is not None:
                visible = or_(table.c.org_id == f.visible_org_id, visible)
            parts.append(visible)
    return and_(true(), *parts)
