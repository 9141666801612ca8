"""Users: created, changed and deleted by admins, or by org-admins inside their org. Deleting a user revokes
every token they own, personal or of their service accounts (a service account cannot outlive its owner)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.principal import Principal, Role
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamMemberRow, UserRow
from core.errors import AlreadyExists
from core.governance.authorization import (
    ListScope,
    deny,
    list_scope,
    may_administer_user,
    may_grant,
    require_org_admin,
    require_person,
)
from core.pagination import Page, paginate
from core.tenancy._store import TenancyStore, commit, find_org, find_user
from core.tenancy.names import OrgName, UserName
from core.tenancy.views import UserView


def user_view(row: UserRow, org_name: str) -> UserView:
    return UserView(id=row.id, email=row.email, org=org_name, role=Role(row.role), created_at=row.created_at)


class Users:
    def __init__(self, store: TenancyStore) -> None:
        self._store = store

    async def get(self, p: Principal, name: UserName) -> UserView:
        async with self._store.sessions() as s:
            user = await find_user(s, p, name)
            org = await s.get(OrgRow, user.org_id)
        assert org is not None  # foreign key
        return user_view(user, org.name)

    async def create(self, p: Principal, name: UserName, org: OrgName, role: Role = Role.USER) -> UserView:
        require_person(p, "service accounts cannot create users")
        if not may_grant(p, role):
            raise deny(f"cannot grant role {role.value!r}")
        conflict = f"{name} already exists"
        async with self._store.sessions() as s:
            org_row = await find_org(s, p, org, "user.org")
            require_org_admin(p, org_row.id, "only admins and the org's org-admins create its users")
            if (await s.exec(select(UserRow).where(UserRow.email == name.email))).first() is not None:
                raise AlreadyExists(conflict, field="user_id")
            row = UserRow(email=name.email, role=role.value, org_id=org_row.id)
            s.add(row)
            await commit(s, conflict, "user_id")
        return user_view(row, org_row.name)

    async def set_role(self, p: Principal, name: UserName, role: Role) -> UserView:
        """Changes the role; the user's tokens carry the new role once the auth cache forgets them."""
        require_person(p, "service accounts cannot change users")
        async with self._store.sessions() as s:
            user = await find_user(s, p, name)
            if not may_administer_user(p, user.org_id, Role(user.role)) or not may_grant(p, role):
                raise deny("only admins grant or revoke the admin role; org-admins change their org's users")
            user.role = role.value
            s.add(user)
            hashes = list((await s.exec(select(ApiTokenRow.secret_hash).where(ApiTokenRow.user_id == user.id))).all())
            await s.commit()
            org = await s.get(OrgRow, user.org_id)
        self._store.forget(hashes)
        assert org is not None  # foreign key
        return user_view(user, org.name)

    async def list(self, p: Principal, org: OrgName | None, page_size: int, page_token: str) -> Page[UserView]:
        require_person(p, "service accounts cannot list users")
        stmt = select(UserRow, OrgRow.name).join(OrgRow, col(OrgRow.id) == col(UserRow.org_id))
        async with self._store.sessions() as s:
            if org is not None:
                org_row = await find_org(s, p, org, "org")
                require_org_admin(p, org_row.id, "only admins and org-admins list users")
                stmt = stmt.where(UserRow.org_id == org_row.id)
            elif (scope := list_scope(p)) is ListScope.OWN:
                raise deny("only admins and org-admins list users")
            elif scope is ListScope.ORG:
                stmt = stmt.where(UserRow.org_id == p.org_id)
            page = await paginate(
                s,
                stmt,
                key=col(UserRow.id),
                key_of=lambda r: r[0].id,
                page_size=page_size,
                page_token=page_token,
                scope=str(org or ""),
            )
        return Page([user_view(u, org_name) for u, org_name in page.items], page.next_page_token)

    async def delete(self, p: Principal, name: UserName) -> None:
        require_person(p, "service accounts cannot delete users")
        async with self._store.sessions() as s:
            user = await find_user(s, p, name)
            if not may_administer_user(p, user.org_id, Role(user.role)):
                raise deny("only admins delete admins; org-admins delete their org's users")
            hashes = await _delete_user_rows(s, user)
            await s.commit()
        self._store.forget(hashes)


async def _delete_user_rows(s: AsyncSession, user: UserRow) -> list[str]:
    sa_ids = select(ServiceAccountRow.id).where(ServiceAccountRow.owner_user_id == user.id)
    owned = col(ApiTokenRow.user_id) == user.id
    hashes = list((await s.exec(select(ApiTokenRow.secret_hash).where(owned))).all())
    await s.exec(delete(ApiTokenRow).where(owned))
    await s.exec(delete(ServiceAccountRow).where(col(ServiceAccountRow.id).in_(sa_ids)))
    await s.exec(delete(TeamMemberRow).where(col(TeamMemberRow.user_id) == user.id))
    await s.delete(user)
    return hashes
