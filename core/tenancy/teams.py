"""Teams: managed by admins and the org's org-admins; members may see their team."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select

from core.auth.principal import Principal
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamMemberRow, TeamRow
from core.errors import AlreadyExists
from core.governance.authorization import ListScope, list_scope, require_org_admin, require_person
from core.pagination import Page, paginate
from core.tenancy._store import TenancyStore, commit, find_org, find_team
from core.tenancy.names import OrgName, TeamName
from core.tenancy.views import TeamView


def team_view(row: TeamRow, org_name: str) -> TeamView:
    return TeamView(id=row.id, name=row.name, org=org_name, created_at=row.created_at)


class Teams:
    def __init__(self, store: TenancyStore) -> None:
        self._store = store

    async def get(self, p: Principal, name: TeamName) -> TeamView:
        async with self._store.sessions() as s:
            org, team = await find_team(s, p, name)
        return team_view(team, org.name)

    async def create(self, p: Principal, name: TeamName) -> TeamView:
        require_person(p, "service accounts cannot create teams")
        conflict = f"{name} already exists"
        async with self._store.sessions() as s:
            org_row = await find_org(s, p, OrgName(name.org), "parent")
            require_org_admin(p, org_row.id, "only admins and the org's org-admins create its teams")
            taken = select(TeamRow).where(TeamRow.org_id == org_row.id, TeamRow.name == name.team)
            if (await s.exec(taken)).first() is not None:
                raise AlreadyExists(conflict, field="team_id")
            row = TeamRow(name=name.team, org_id=org_row.id)
            s.add(row)
            await commit(s, conflict, "team_id")
        return team_view(row, org_row.name)

    async def list(self, p: Principal, org: OrgName | None, page_size: int, page_token: str) -> Page[TeamView]:
        """Admins see all, org-admins their org's, users the teams they belong to."""
        require_person(p, "service accounts cannot list teams")
        stmt = select(TeamRow, OrgRow.name).join(OrgRow, col(OrgRow.id) == col(TeamRow.org_id))
        async with self._store.sessions() as s:
            org_id = (await find_org(s, p, org, "parent")).id if org is not None else None
            if org_id is not None:
                stmt = stmt.where(TeamRow.org_id == org_id)
            scope = list_scope(p)
            if scope is ListScope.ORG:
                stmt = stmt.where(TeamRow.org_id == p.org_id)
            elif scope is ListScope.OWN:
                mine = select(TeamMemberRow.team_id).where(TeamMemberRow.user_id == (p.user_id or ""))
                stmt = stmt.where(col(TeamRow.id).in_(mine))
            page = await paginate(
                s,
                stmt,
                key=col(TeamRow.id),
                key_of=lambda r: r[0].id,
                page_size=page_size,
                page_token=page_token,
                scope=str(org or ""),
            )
        return Page([team_view(t, org_name) for t, org_name in page.items], page.next_page_token)

    async def delete(self, p: Principal, name: TeamName) -> None:
        """Deletes the team, its memberships, and its service accounts with their tokens."""
        require_person(p, "service accounts cannot delete teams")
        async with self._store.sessions() as s:
            org_row, team = await find_team(s, p, name)
            require_org_admin(p, org_row.id, "only admins and the org's org-admins delete its teams")
            sa_ids = select(ServiceAccountRow.id).where(ServiceAccountRow.team_id == team.id)
            of_team = col(ApiTokenRow.service_account_id).in_(sa_ids)
            hashes = list((await s.exec(select(ApiTokenRow.secret_hash).where(of_team))).all())
            await s.exec(delete(ApiTokenRow).where(of_team))
            await s.exec(delete(ServiceAccountRow).where(col(ServiceAccountRow.team_id) == team.id))
            await s.exec(delete(TeamMemberRow).where(col(TeamMemberRow.team_id) == team.id))
            await s.delete(team)
            await s.commit()
        self._store.forget(hashes)
