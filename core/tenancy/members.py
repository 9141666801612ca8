"""Team members (`orgs/{org}/teams/{team}/members/{email}`): added, changed and removed by admins and the
org's org-admins; a team's members may read its member list."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.principal import Principal
from core.db.tables import TeamMemberRow, TeamRow, UserRow
from core.errors import AlreadyExists, FailedPrecondition
from core.governance.authorization import require_org_admin, require_person
from core.pagination import Page, paginate
from core.tenancy._store import TenancyStore, commit, find_team, find_user, not_found
from core.tenancy.names import MemberName, TeamName, UserName
from core.tenancy.views import MemberView

_MANAGERS = "only admins and the org's org-admins manage its teams' members"


class TeamMembers:
    def __init__(self, store: TenancyStore) -> None:
        self._store = store

    async def get(self, p: Principal, name: MemberName) -> MemberView:
        async with self._store.sessions() as s:
            org, team = await find_team(s, p, TeamName(name.org, name.team))
            found = await _member(s, team, name)
        member, _ = found
        return MemberView(team.name, org.name, name.email, member.team_admin)

    async def list(self, p: Principal, team: TeamName, page_size: int, page_token: str) -> Page[MemberView]:
        require_person(p, "service accounts cannot list team members")
        async with self._store.sessions() as s:
            org_row, team_row = await find_team(s, p, team, "parent")
            stmt = (
                select(TeamMemberRow, UserRow.email)
                .join(UserRow, col(UserRow.id) == col(TeamMemberRow.user_id))
                .where(TeamMemberRow.team_id == team_row.id)
            )
            page = await paginate(
                s,
                stmt,
                key=col(TeamMemberRow.user_id),
                key_of=lambda r: r[0].user_id,
                page_size=page_size,
                page_token=page_token,
                scope=str(team),
            )
        return Page(
            [MemberView(team_row.name, org_row.name, email, m.team_admin) for m, email in page.items],
            page.next_page_token,
        )

    async def create(self, p: Principal, team: TeamName, user: UserName, team_admin: bool) -> MemberView:
        return await self._put(
            p, MemberName(team.org, team.team, user.email), team_admin, create=True, allow_missing=True
        )

    async def set_admin(self, p: Principal, name: MemberName, team_admin: bool, *, allow_missing: bool) -> MemberView:
        """Changes the team-admin flag; with `allow_missing` a non-member is added first."""
        return await self._put(p, name, team_admin, create=False, allow_missing=allow_missing)

    async def delete(self, p: Principal, name: MemberName) -> None:
        require_person(p, "service accounts cannot manage teams")
        async with self._store.sessions() as s:
            org_row, team_row = await find_team(s, p, TeamName(name.org, name.team))
            require_org_admin(p, org_row.id, _MANAGERS)
            member, _ = await _member(s, team_row, name)
            await s.delete(member)
            await s.commit()

    async def _put(
        self, p: Principal, name: MemberName, team_admin: bool, *, create: bool, allow_missing: bool
    ) -> MemberView:
        """`create`: a new membership (ALREADY_EXISTS if there is one); otherwise an update of an existing one,
        or of a new one when `allow_missing`."""
        require_person(p, "service accounts cannot manage teams")
        async with self._store.sessions() as s:
            team_field = "parent" if create else "team_member.name"
            org_row, team_row = await find_team(s, p, TeamName(name.org, name.team), team_field)
            require_org_admin(p, org_row.id, _MANAGERS)
            user = await find_user(s, p, UserName(name.email), "team_member.user")
            if user.org_id != org_row.id:
                raise FailedPrecondition(f"users/{user.email} is not in orgs/{org_row.name}", field="team_member.user")
            member = await s.get(TeamMemberRow, (team_row.id, user.id))
            if member is not None and create:
                raise AlreadyExists(f"{name} already exists", field="team_member.user")
            if member is None and not allow_missing:
                raise not_found(name, "team_member.name")
            if member is None:
                member = TeamMemberRow(team_id=team_row.id, user_id=user.id, team_admin=team_admin)
            member.team_admin = team_admin
            s.add(member)
            await commit(s, f"{name} already exists", "team_member.user")
        return MemberView(team=team_row.name, org=org_row.name, email=user.email, team_admin=team_admin)


async def _member(s: AsyncSession, team: TeamRow, name: MemberName) -> tuple[TeamMemberRow, UserRow]:
    """The membership named, among the team's (the team is already known to be visible)."""
    found = (
        await s.exec(
            select(TeamMemberRow, UserRow)
            .join(UserRow, col(UserRow.id) == col(TeamMemberRow.user_id))
            .where(TeamMemberRow.team_id == team.id, UserRow.email == name.email)
        )
    ).first()
    if found is None:
        raise not_found(name)
    return found[0], found[1]
