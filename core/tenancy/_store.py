"""What every tenancy resource class shares: the database, the auth cache to invalidate, and lookups that
enforce visibility (a resource the caller may not see is NOT_FOUND, worded exactly as a missing one)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.authenticator import Authenticator
from core.auth.clock import Clock, SystemClock
from core.auth.principal import Principal
from core.db.tables import OrgRow, TeamMemberRow, TeamRow, UserRow
from core.errors import AlreadyExists, InvalidRequest, NotFound
from core.governance.authorization import may_see_org, may_see_team, may_see_user
from core.settings import Settings
from core.tenancy.names import OrgName, TeamName, UserName


@dataclass(slots=True)
class TenancyStore:
    """Construct once per core; the authenticator (optional) is told about deleted and regenerated tokens so
    they stop working on this replica at once."""

    sessions: async_sessionmaker[AsyncSession]
    authenticator: Authenticator | None
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    def forget(self, secret_hashes: Iterable[str]) -> None:
        """Drop deleted or replaced tokens from this replica's auth cache at once."""
        if self.authenticator is not None:
            for secret_hash in secret_hashes:
                self.authenticator.invalidate(secret_hash)


def not_found(name: object, field: str = "name") -> NotFound:
    """The one NOT_FOUND answer for a missing or invisible resource: only the name the caller gave."""
    return NotFound(f"{name} not found", field=field)


async def commit(session: AsyncSession, conflict: str, field: str) -> None:
    """Commit; a unique-constraint race (two creates at once) becomes AlreadyExists."""
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise AlreadyExists(conflict, field=field) from exc


async def find_org(s: AsyncSession, p: Principal, name: OrgName, field: str = "name") -> OrgRow:
    row = (await s.exec(select(OrgRow).where(OrgRow.name == name.org))).first()
    if row is None or not may_see_org(p, row.id):
        raise not_found(name, field)
    return row


async def find_user(s: AsyncSession, p: Principal, name: UserName, field: str = "name") -> UserRow:
    row = (await s.exec(select(UserRow).where(UserRow.email == name.email))).first()
    if row is None or not may_see_user(p, row.id, row.org_id):
        raise not_found(name, field)
    return row


async def user_or_caller(s: AsyncSession, p: Principal, name: UserName | None, field: str) -> UserRow:
    """The user named, or the caller when none is (the bootstrap admin must name one)."""
    if name is not None:
        return await find_user(s, p, name, field)
    if p.user_id is None:
        raise InvalidRequest(f"{field} is required when calling with the bootstrap admin token", field=field)
    row = await s.get(UserRow, p.user_id)
    if row is None:
        raise NotFound("the calling user no longer exists", field=field)
    return row


async def membership(s: AsyncSession, p: Principal, team_id: str) -> TeamMemberRow | None:
    """The caller's membership of the team (service accounts are members of nothing)."""
    if p.user_id is None or p.service_account_id is not None:
        return None
    return await s.get(TeamMemberRow, (team_id, p.user_id))


async def find_team(s: AsyncSession, p: Principal, name: TeamName, field: str = "name") -> tuple[OrgRow, TeamRow]:
    """The team and its org, if the caller may see the team."""
    found = (
        await s.exec(
            select(TeamRow, OrgRow)
            .join(OrgRow, col(OrgRow.id) == col(TeamRow.org_id))
            .where(OrgRow.name == name.org, TeamRow.name == name.team)
        )
    ).first()
    if found is None:
        raise not_found(name, field)
    team, org = found
    if not may_see_team(p, org.id, member=await membership(s, p, team.id) is not None):
        raise not_found(name, field)
    return org, team


async def is_team_admin(s: AsyncSession, p: Principal, team_id: str) -> bool:
    """The caller's own team-admin flag (org-admin powers are decided in core.governance.authorization)."""
    member = await membership(s, p, team_id)
    return member is not None and member.team_admin


async def admin_team_ids(s: AsyncSession, p: Principal) -> list[str]:
    """Teams the caller administers as a team admin."""
    if p.user_id is None or p.service_account_id is not None:
        return []
    stmt = select(TeamMemberRow.team_id).where(
        TeamMemberRow.user_id == p.user_id, col(TeamMemberRow.team_admin).is_(True)
    )
    return list((await s.exec(stmt)).all())
