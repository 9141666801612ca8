"""Users: created and deleted by admins, or by org-admins inside their org. Deleting a user revokes every
token they own, personal or of their service accounts (a service account cannot outlive its owner)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.principal import Principal, Role
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamMemberRow, UserRow
from core.errors import AlreadyExists
from core.governance.authorization import deny, is_admin, may_grant, require_org_admin, require_person
from core.tenancy import validation
from core.tenancy._base import TenancyBase
from core.tenancy.pagination import cut_page, page_query
from core.tenancy.views import Page, UserView


def user_view(row: UserRow, org_name: str) -> UserView:
    return UserView(id=row.id, email=row.email, org=org_name, role=Role(row.role), created_at=row.created_at)


class UserOps(TenancyBase):
    async def create_user(self, p: Principal, email: str, org: str, role: Role = Role.USER) -> UserView:
        require_person(p, "service accounts cannot create users")
        email = validation.email(email)
        async with self._sessions() as s:
            org_row = await self._org(s, org)
            require_org_admin(p, org_row.id, f"cannot create users in org {org_row.name!r}")
            if not may_grant(p, role):
                raise deny(f"cannot grant role {role.value!r}")
            if (await s.exec(select(UserRow).where(UserRow.email == email))).first() is not None:
                raise AlreadyExists(f"user {email!r} already exists", field="email")
            row = UserRow(email=email, role=role.value, org_id=org_row.id)
            s.add(row)
            await self._commit(s, f"user {email!r} already exists", "email")
        return user_view(row, org_row.name)

    async def list_users(self, p: Principal, org: str = "", page_size: int = 0, page_token: str = "") -> Page[UserView]:
        require_person(p, "service accounts cannot list users")
        stmt = select(UserRow, OrgRow.name).join(OrgRow, col(OrgRow.id) == col(UserRow.org_id))
        async with self._sessions() as s:
            if org.strip():
                org_row = await self._org(s, org)
                require_org_admin(p, org_row.id, f"cannot list users of org {org_row.name!r}")
                stmt = stmt.where(UserRow.org_id == org_row.id)
            elif not is_admin(p):
                require_org_admin(p, p.org_id or "", "only admins and org-admins list users")
                stmt = stmt.where(UserRow.org_id == p.org_id)
            rows = (await s.exec(page_query(stmt, col(UserRow.id), page_size, page_token))).all()
        items, token = cut_page(rows, page_size, lambda r: r[0].id)
        return Page([user_view(u, org_name) for u, org_name in items], token)

    async def delete_user(self, p: Principal, email: str) -> None:
        require_person(p, "service accounts cannot delete users")
        async with self._sessions() as s:
            user = await self._user(s, email)
            require_org_admin(p, user.org_id, f"cannot delete users of another org than yours ({email!r})")
            if Role(user.role) is Role.ADMIN and not is_admin(p):
                raise deny("only admins delete admins")
            hashes = await self._delete_user_rows(s, user)
            await s.commit()
        self._forget(hashes)

    @staticmethod
    async def _delete_user_rows(s: AsyncSession, user: UserRow) -> list[str]:
        sa_ids = select(ServiceAccountRow.id).where(ServiceAccountRow.owner_user_id == user.id)
        owned = col(ApiTokenRow.user_id) == user.id
        hashes = list((await s.exec(select(ApiTokenRow.secret_hash).where(owned))).all())
        await s.exec(delete(ApiTokenRow).where(owned))
        await s.exec(delete(ServiceAccountRow).where(col(ServiceAccountRow.id).in_(sa_ids)))
        await s.exec(delete(TeamMemberRow).where(col(TeamMemberRow.user_id) == user.id))
        await s.delete(user)
        return hashes
