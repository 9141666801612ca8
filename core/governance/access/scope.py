"""Governance scopes by resource name (AIP-122): `orgs/{org}`, `orgs/{org}/teams/{team}`, `users/{email}`,
`tokens/{token_id}`, and the settings under them (`{scope}/rateLimits/{id}`, `{scope}/exclusions/{id}`,
`{scope}/exclusionPolicy`). Parsing a name checks only its shape; `resolve_scope` looks the scope up. Who may
read or change a scope's settings is decided in core.governance.authorization."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamRow, UserRow
from core.errors import InvalidRequest
from core.governance.authorization import not_found
from core.governance.limits.model import ScopeKind
from core.tenancy import validation

ORGS, TEAMS, USERS, TOKENS = "orgs", "teams", "users", "tokens"
_SHAPES = "orgs/{org}, orgs/{org}/teams/{team}, users/{email} or tokens/{token_id}"


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    id: str
    name: str  # the canonical resource name: "orgs/acme", "orgs/acme/teams/eng", "users/a@b.c", "tokens/…"
    org_id: str
    org: str  # the org's resource name
    # For tokens: the owning user and, for a service account's token, its account and team.
    user_id: str | None = None
    service_account_id: str | None = None
    team_id: str | None = None
    email: str | None = None  # user scopes


def split_child(name: str, collection: str, field: str) -> tuple[str, str]:
    """`{scope}/{collection}/{id}` -> (scope name, id). Split from the right: an email may hold a `/`."""
    parts = name.strip().rsplit("/", 2)
    if len(parts) != 3 or parts[1] != collection or not parts[2] or not parts[0]:
        raise InvalidRequest(f"{field} must be {{scope}}/{collection}/{{id}}, got {name!r}", field=field)
    return parts[0], parts[2]


def split_singleton(name: str, singleton: str, field: str) -> str:
    """`{scope}/{singleton}` -> the scope name."""
    scope, _, last = name.strip().rpartition("/")
    if last != singleton or not scope:
        raise InvalidRequest(f"{field} must be {{scope}}/{singleton}, got {name!r}", field=field)
    return scope


async def _org_id(conn: AsyncConnection, org: str, name: str, field: str) -> str:
    org_id = (await conn.execute(select(col(OrgRow.id)).where(col(OrgRow.name) == org))).scalar()
    if org_id is None:
        raise not_found(name, field)
    return str(org_id)


async def resolve_scope(conn: AsyncConnection, name: str, field: str) -> Scope:
    """The scope `name` names; InvalidRequest for a malformed name, NotFound for one that does not exist."""
    name = name.strip()
    collection, _, rest = name.partition("/")
    if collection == ORGS and rest:
        org, _, team_part = rest.partition("/")
        org = validation.name(org, field)
        if not team_part:
            org_id = await _org_id(conn, org, name, field)
            return Scope(ScopeKind.ORG, org_id, f"{ORGS}/{org}", org_id, f"{ORGS}/{org}")
        teams, _, team = team_part.partition("/")
        if teams == TEAMS and team and "/" not in team:
            org_id = await _org_id(conn, org, name, field)
            team = validation.name(team, field)
            team_stmt = select(col(TeamRow.id)).where(col(TeamRow.org_id) == org_id, col(TeamRow.name) == team)
            team_id = (await conn.execute(team_stmt)).scalar()
            if team_id is None:
                raise not_found(name, field)
            return Scope(
                ScopeKind.TEAM, team_id, f"{ORGS}/{org}/{TEAMS}/{team}", org_id, f"{ORGS}/{org}", team_id=team_id
            )
    if collection == USERS and rest:
        email = validation.email(rest, field)
        user_stmt = (
            select(col(UserRow.id), col(UserRow.org_id), col(OrgRow.name))
            .join(OrgRow, col(OrgRow.id) == col(UserRow.org_id))
            .where(col(UserRow.email) == email)
        )
        user_row = (await conn.execute(user_stmt)).first()
        if user_row is None:
            raise not_found(name, field)
        user_id, org_id, org = user_row
        return Scope(ScopeKind.USER, user_id, f"{USERS}/{email}", org_id, f"{ORGS}/{org}", user_id, email=email)
    if collection == TOKENS and rest and "/" not in rest:
        token_stmt = (
            select(
                col(ApiTokenRow.id),
                col(UserRow.id),
                col(UserRow.org_id),
                col(OrgRow.name),
                col(ServiceAccountRow.id),
                col(ServiceAccountRow.team_id),
            )
            .join(UserRow, col(UserRow.id) == col(ApiTokenRow.user_id))
            .join(OrgRow, col(OrgRow.id) == col(UserRow.org_id))
            .outerjoin(ServiceAccountRow, col(ServiceAccountRow.id) == col(ApiTokenRow.service_account_id))
            .where(col(ApiTokenRow.id) == rest)
        )
        row = (await conn.execute(token_stmt)).first()
        if row is None:
            raise not_found(name, field)
        token_id, user_id, org_id, org, sa_id, team_id = tuple(row)
        return Scope(
            ScopeKind.TOKEN, token_id, f"{TOKENS}/{token_id}", org_id, f"{ORGS}/{org}", user_id, sa_id, team_id
        )
    raise InvalidRequest(f"{field} must name a scope: {_SHAPES}; got {name!r}", field=field)
