"""Teams and their members: managed by admins and org-admins; members may see their team."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select

from core.auth.principal import Principal
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamMemberRow, TeamRow, UserRow
from core.errors import AlreadyExists, FailedPrecondition, NotFound
from core.governance.authorization import deny, is_admin, is_org_admin_of, require_org_admin, require_person
from core.tenancy import validation
from core.tenancy._base import TenancyBase
from core.tenancy.pagination import cut_page, page_query
from core.tenancy.views import MemberView, Page, TeamView


def team_view(row: TeamRow, org_name: str) -> TeamView:
    return TeamView(id=row.id, name=row.name, org=org_name, created_at=row.created_at)


class TeamOps(TenancyBase):
    async def create_team(self, p: Principal, name: str, org: str) -> TeamView:
        require_person(p, "service accounts cannot create teams")
        name = validation.name(name)
        async with self._sessions() as s:
            org_row = await self._org(s, org)
            require_org_admin(p, org_row.id, f"cannot create teams in org {org_row.name!r}")
            taken = select(TeamRow).where(TeamRow.org_id == org_row.id, TeamRow.name == name)
            conflict = f"team {name!r} already exists in org {org_row.name!r}"
            if (await s.exec(taken)).first() is not None:
                raise AlreadyExists(conflict, field="name")
            row = TeamRow(name=name, org_id=org_row.id)
            s.add(row)
            await self._commit(s, conflict, "name")
        return team_view(row, org_row.name)

    async def list_teams(self, p: Principal, org: str = "", page_size: int = 0, page_token: str = "") -> Page[TeamView]:
        """Admins see all, org-admins their org's, users the teams they belong to."""
        require_person(p, "service accounts cannot list teams")
        stmt = select(TeamRow, OrgRow.name).join(OrgRow, col(OrgRow.id) == col(TeamRow.org_id))
        async with self._sessions() as s:
            org_id = (await self._org(s, org)).id if org.strip() else None
            if org_id is not None:
                stmt = stmt.where(TeamRow.org_id == org_id)
            if not (is_admin(p) or (org_id is not None and is_org_admin_of(p, org_id))):
                if is_org_admin_of(p, p.org_id or "") and org_id is None:
                    stmt = stmt.where(TeamRow.org_id == p.org_id)
                else:
                    mine = select(TeamMemberRow.team_id).where(TeamMemberRow.user_id == (p.user_id or ""))
                    stmt = stmt.where(col(TeamRow.id).in_(mine))
            rows = (await s.exec(page_query(stmt, col(TeamRow.id), page_size, page_token))).all()
        items, token = cut_page(rows, page_size, lambda r: r[0].id)
        return Page([team_view(t, org_name) for t, org_name in items], token)

    async def delete_team(self, p: Principal, name: str, org: str) -> None:
        """Deletes the team, its memberships, and its service accounts with their tokens."""
        require_person(p, "service accounts cannot delete teams")
        async with self._sessions() as s:
            org_row, team = await self._team(s, org, name)
            require_org_admin(p, org_row.id, f"cannot delete teams of org {org_row.name!r}")
            sa_ids = select(ServiceAccountRow.id).where(ServiceAccountRow.team_id == team.id)
            of_team = col(ApiTokenRow.service_account_id).in_(sa_ids)
            hashes = list((await s.exec(select(ApiTokenRow.secret_hash).where(of_team))).all())
            await s.exec(delete(ApiTokenRow).where(of_team))
            await s.exec(delete(ServiceAccountRow).where(col(ServiceAccountRow.team_id) == team.id))
            await s.exec(delete(TeamMemberRow).where(col(TeamMemberRow.team_id) == team.id))
            await s.delete(team)
            await s.commit()
        self._forget(hashes)

    async def add_team_member(
        self, p: Principal, team: str, org: str, email: str, team_admin: bool = False
    ) -> MemberView:
        """Adds the user, or updates their team-admin flag if already a member."""
        require_person(p, "service accounts cannot manage teams")
        async with self._sessions() as s:
            org_row, team_row = await self._team(s, org, team)
            require_org_admin(p, org_row.id, f"cannot manage teams of org {org_row.name!r}")
            user = await self._user(s, email)
            if user.org_id != org_row.id:
                raise FailedPrecondition(f"user {user.email!r} is not in org {org_row.name!r}", field="email")
            member = await s.get(TeamMemberRow, (team_row.id, user.id))
            if member is None:
                member = TeamMemberRow(team_id=team_row.id, user_id=user.id, team_admin=team_admin)
            member.team_admin = team_admin
            s.add(member)
            await self._commit(s, f"{user.email!r} is already a member", "email")
        return MemberView(team=team_row.name, org=org_row.name, email=user.email, team_admin=team_admin)

    async def remove_team_member(self, p: Principal, team: str, org: str, email: str) -> None:
        require_person(p, "service accounts cannot manage teams")
        async with self._sessions() as s:
            org_row, team_row = await self._team(s, org, team)
            require_org_admin(p, org_row.id, f"cannot manage teams of org {org_row.name!r}")
            user = await self._user(s, email)
            member = await s.get(TeamMemberRow, (team_row.id, user.id))
            if member is None:
                raise NotFound(f"{user.email!r} is not a member of team {team_row.name!r}", field="email")
            await s.delete(member)
            await s.commit()

    async def list_team_members(
        self, p: Principal, team: str, org: str, page_size: int = 0, page_token: str = ""
    ) -> Page[MemberView]:
        require_person(p, "service accounts cannot list team members")
        async with self._sessions() as s:
            org_row, team_row = await self._team(s, org, team)
            if not is_org_admin_of(p, org_row.id) and await self._membership(s, p, team_row.id) is None:
                raise deny(f"not a member of team {team_row.name!r}")
            stmt = (
                select(TeamMemberRow, UserRow.email)
                .join(UserRow, col(UserRow.id) == col(TeamMemberRow.user_id))
                .where(TeamMemberRow.team_id == team_row.id)
            )
            rows = (await s.exec(page_query(stmt, col(TeamMemberRow.user_id), page_size, page_token))).all()
        items, token = cut_page(rows, page_size, lambda r: r[0].user_id)
        return Page(
            [MemberView(team_row.name, org_row.name, email, m.team_admin) for m, email in items],
            token,
        )
