"""State and lookups shared by the tenancy operations (one mixin per resource, combined in service.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.authenticator import Authenticator
from core.auth.clock import Clock, SystemClock
from core.auth.principal import Principal, Role
from core.db.tables import OrgRow, TeamMemberRow, TeamRow, UserRow
from core.errors import AlreadyExists, InvalidRequest, NotFound
from core.governance.authorization import is_admin, is_org_admin_of
from core.settings import Settings
from core.tenancy import validation


class TenancyBase:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        authenticator: Authenticator | None,
        settings: Settings,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self._authenticator = authenticator
        self._settings = settings
        self._clock = clock or SystemClock()

    def _forget(self, secret_hashes: Iterable[str]) -> None:
        """Drop deleted or replaced tokens from this replica's auth cache at once."""
        if self._authenticator is not None:
            for secret_hash in secret_hashes:
                self._authenticator.invalidate(secret_hash)

    @staticmethod
    async def _commit(session: AsyncSession, conflict: str, field: str) -> None:
        """Commit; a unique-constraint race (two creates at once) becomes AlreadyExists."""
        try:
            await session.commit()
        except IntegrityError as exc:
            await session.rollback()
            raise AlreadyExists(conflict, field=field) from exc

    @staticmethod
    async def _org(session: AsyncSession, name: str, field: str = "org") -> OrgRow:
        name = validation.name(name, field)
        row = (await session.exec(select(OrgRow).where(OrgRow.name == name))).first()
        if row is None:
            raise NotFound(f"org {name!r} not found", field=field)
        return row

    @staticmethod
    async def _org_name(session: AsyncSession, org_id: str) -> str:
        row = await session.get(OrgRow, org_id)
        if row is None:
            raise NotFound(f"org {org_id!r} not found")
        return row.name

    @staticmethod
    async def _user(session: AsyncSession, email: str, field: str = "email") -> UserRow:
        email = validation.email(email, field)
        row = (await session.exec(select(UserRow).where(UserRow.email == email))).first()
        if row is None:
            raise NotFound(f"user {email!r} not found", field=field)
        return row

    async def _user_or_caller(self, session: AsyncSession, p: Principal, email: str, field: str) -> UserRow:
        """The user named by `email`, or the caller when it is empty (the bootstrap admin must name one)."""
        if email.strip():
            return await self._user(session, email, field)
        if p.user_id is None:
            raise InvalidRequest(f"{field} is required when calling with the bootstrap admin token", field=field)
        row = await session.get(UserRow, p.user_id)
        if row is None:
            raise NotFound("the calling user no longer exists", field=field)
        return row

    async def _team(self, session: AsyncSession, org: str, team: str) -> tuple[OrgRow, TeamRow]:
        org_row = await self._org(session, org)
        team = validation.name(team, "team")
        row = (await session.exec(select(TeamRow).where(TeamRow.org_id == org_row.id, TeamRow.name == team))).first()
        if row is None:
            raise NotFound(f"team {team!r} not found in org {org_row.name!r}", field="team")
        return org_row, row

    @staticmethod
    async def _membership(session: AsyncSession, p: Principal, team_id: str) -> TeamMemberRow | None:
        if p.user_id is None or p.service_account_id is not None:
            return None
        return await session.get(TeamMemberRow, (team_id, p.user_id))

    async def _is_team_admin(self, session: AsyncSession, p: Principal, team: TeamRow) -> bool:
        if is_org_admin_of(p, team.org_id):
            return True
        member = await self._membership(session, p, team.id)
        return member is not None and member.team_admin

    @staticmethod
    async def _admin_team_ids(session: AsyncSession, p: Principal) -> list[str]:
        """Teams the caller administers as a team admin."""
        if p.user_id is None:
            return []
        stmt = select(TeamMemberRow.team_id).where(
            TeamMemberRow.user_id == p.user_id, col(TeamMemberRow.team_admin).is_(True)
        )
        return list((await session.exec(stmt)).all())

    @staticmethod
    def _may_manage_user(p: Principal, user: UserRow) -> bool:
        """Yourself; or as org-admin anyone of your org but admins (that would hand over admin powers)."""
        if p.service_account_id is not None:
            return False
        if user.id == p.user_id or is_admin(p):
            return True
        return is_org_admin_of(p, user.org_id) and Role(user.role) is not Role.ADMIN
