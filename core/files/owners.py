"""Owner resource names (`users/{email}`, `orgs/{org}/teams/{team}`) for file and batch rows, looked up in
two queries for a whole page."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.tables import OrgRow, TeamRow, UserRow

_USERS = UserRow.__table__  # type: ignore[attr-defined]
_TEAMS = TeamRow.__table__  # type: ignore[attr-defined]
_ORGS = OrgRow.__table__  # type: ignore[attr-defined]


async def owner_names(
    connection: AsyncConnection, owners: Iterable[tuple[str | None, str | None]]
) -> dict[tuple[str | None, str | None], tuple[str, str]]:
    """(user_id, team_id) -> (user name, team name); a deleted owner gives empty names."""
    pairs = set(owners)
    user_ids = {u for u, _ in pairs if u}
    team_ids = {t for _, t in pairs if t}
    users: dict[str, str] = {}
    teams: dict[str, str] = {}
    if user_ids:
        rows = await connection.execute(select(_USERS.c.id, _USERS.c.email).where(_USERS.c.id.in_(user_ids)))
        users = {row.id: f"users/{row.email}" for row in rows}
    if team_ids:
        rows = await connection.execute(
            select(_TEAMS.c.id, _TEAMS.c.name, _ORGS.c.name.label("org"))
            .join(_ORGS, _ORGS.c.id == _TEAMS.c.org_id)
            .where(_TEAMS.c.id.in_(team_ids))
        )
        teams = {row.id: f"orgs/{row.org}/teams/{row.name}" for row in rows}
    return {(u, t): (users.get(u or "", ""), teams.get(t or "", "")) for u, t in pairs}
