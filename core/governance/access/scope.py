"""Governance scopes named the way the CLI names them (--org, --team with --org, --user EMAIL, --token-id), resolved
to ids, and who may read or change the settings of each: admins everything, org-admins their org's scopes,
everyone may read the settings that apply to themselves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from core.auth.principal import Principal
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamRow, UserRow
from core.errors import InvalidRequest, NotFound
from core.governance.authorization import deny, is_org_admin_of
from core.governance.limits.model import ScopeKind
from core.tenancy import validation

SCOPE_FIELD = "scope"


@dataclass(frozen=True, slots=True)
class ScopeRef:
    """What the caller named; exactly one of: org alone, team with org, user, token_id."""

    org: str = ""
    team: str = ""
    user: str = ""
    token_id: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    id: str
    label: str  # "org acme", "team eng (org acme)", "user a@b.c", "token 'laptop' (a@b.c)"
    org_id: str
    org_name: str
    # For tokens: the owning user and, for a service account's token, its account and team.
    user_id: str | None = None
    service_account_id: str | None = None
    team_id: str | None = None
    email: str | None = None  # user scopes


def _kind_of(ref: ScopeRef) -> ScopeKind:
    org, team, user, token = (ref.org.strip(), ref.team.strip(), ref.user.strip(), ref.token_id.strip())
    if team:
        if not org or user or token:
            raise InvalidRequest("a team scope is --team TEAM --org ORG and nothing else", field=SCOPE_FIELD)
        return ScopeKind.TEAM
    chosen = [kind for kind, value in ((ScopeKind.ORG, org), (ScopeKind.USER, user), (ScopeKind.TOKEN, token)) if value]
    if len(chosen) != 1:
        raise InvalidRequest(
            "name exactly one scope: --org ORG, --team TEAM --org ORG, --user EMAIL or --token-id ID",
            field=SCOPE_FIELD,
        )
    return chosen[0]


async def _org(conn: AsyncConnection, name: str) -> tuple[str, str]:
    name = validation.name(name, "org")
    row = (await conn.execute(select(col(OrgRow.id), col(OrgRow.name)).where(col(OrgRow.name) == name))).first()
    if row is None:
        raise NotFound(f"org {name!r} not found", field="org")
    return row[0], row[1]


async def resolve_scope(conn: AsyncConnection, ref: ScopeRef) -> Scope:
    kind = _kind_of(ref)
    if kind is ScopeKind.ORG:
        org_id, org_name = await _org(conn, ref.org)
        return Scope(kind, org_id, f"org {org_name}", org_id, org_name)
    if kind is ScopeKind.TEAM:
        org_id, org_name = await _org(conn, ref.org)
        team = validation.name(ref.team, "team")
        team_stmt = select(col(TeamRow.id)).where(col(TeamRow.org_id) == org_id, col(TeamRow.name) == team)
        team_id = (await conn.execute(team_stmt)).scalar()
        if team_id is None:
            raise NotFound(f"team {team!r} not found in org {org_name!r}", field="team")
        return Scope(kind, team_id, f"team {team} (org {org_name})", org_id, org_name, team_id=team_id)
    if kind is ScopeKind.USER:
        email = validation.email(ref.user, "user")
        user_stmt = (
            select(col(UserRow.id), col(UserRow.org_id), col(OrgRow.name))
            .join(OrgRow, col(OrgRow.id) == col(UserRow.org_id))
            .where(col(UserRow.email) == email)
        )
        user_row = (await conn.execute(user_stmt)).first()
        if user_row is None:
            raise NotFound(f"user {email!r} not found", field="user")
        return Scope(kind, user_row[0], f"user {email}", user_row[1], user_row[2], user_id=user_row[0], email=email)
    token_id = ref.token_id.strip()
    token_stmt = (
        select(
            col(ApiTokenRow.id),
            col(ApiTokenRow.name),
            col(UserRow.id),
            col(UserRow.email),
            col(UserRow.org_id),
            col(OrgRow.name),
            col(ServiceAccountRow.id),
            col(ServiceAccountRow.team_id),
        )
        .join(UserRow, col(UserRow.id) == col(ApiTokenRow.user_id))
        .join(OrgRow, col(OrgRow.id) == col(UserRow.org_id))
        .outerjoin(ServiceAccountRow, col(ServiceAccountRow.id) == col(ApiTokenRow.service_account_id))
        .where(col(ApiTokenRow.id) == token_id)
    )
    row = (await conn.execute(token_stmt)).first()
    if row is None:
        raise NotFound(f"token {token_id!r} not found", field="token_id")
    tid, name, user_id, email, org_id, org_name, sa_id, team_id = tuple(row)
    return Scope(ScopeKind.TOKEN, tid, f"token {name!r} ({email})", org_id, org_name, user_id, sa_id, team_id)


def require_manage(p: Principal, scope: Scope) -> None:
    """Changing limits or exclusions: admins, and org-admins inside their org."""
    if not is_org_admin_of(p, scope.org_id):
        raise deny(f"only admins and org-admins of org {scope.org_name} change the settings of {scope.label}")


def require_read(p: Principal, scope: Scope) -> None:
    """Reading: whoever may change it, and anyone the scope applies to (their user, org, team, tokens)."""
    if is_org_admin_of(p, scope.org_id):
        return
    own = {
        ScopeKind.USER: p.service_account_id is None and scope.id == p.user_id,
        ScopeKind.ORG: scope.id == p.org_id,
        ScopeKind.TEAM: p.team_id is not None and scope.id == p.team_id,
        ScopeKind.TOKEN: scope.id == p.token_id
        or (p.service_account_id is None and scope.user_id == p.user_id and scope.service_account_id is None),
    }
    if not own[scope.kind]:
        raise deny(f"cannot read the settings of {scope.label}")
