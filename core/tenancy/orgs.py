"""Orgs: created and deleted by admins; everyone else sees only their own."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from core.auth.principal import Principal
from core.db.tables import OrgRow, TeamRow, UserRow
from core.errors import AlreadyExists, FailedPrecondition
from core.governance.authorization import is_admin, require_admin, require_person
from core.tenancy import validation
from core.tenancy._base import TenancyBase
from core.tenancy.pagination import cut_page, page_query
from core.tenancy.views import OrgView, Page


def org_view(row: OrgRow) -> OrgView:
    return OrgView(id=row.id, name=row.name, created_at=row.created_at)


class OrgOps(TenancyBase):
    async def create_org(self, p: Principal, name: str) -> OrgView:
        require_admin(p, "only admins create orgs")
        name = validation.name(name)
        async with self._sessions() as s:
            if (await s.exec(select(OrgRow).where(OrgRow.name == name))).first() is not None:
                raise AlreadyExists(f"org {name!r} already exists", field="name")
            row = OrgRow(name=name)
            s.add(row)
            await self._commit(s, f"org {name!r} already exists", "name")
        return org_view(row)

    async def list_orgs(self, p: Principal, page_size: int = 0, page_token: str = "") -> Page[OrgView]:
        require_person(p, "service accounts cannot list orgs")
        stmt = select(OrgRow)
        if not is_admin(p):
            stmt = stmt.where(OrgRow.id == (p.org_id or ""))
        async with self._sessions() as s:
            rows = (await s.exec(page_query(stmt, col(OrgRow.id), page_size, page_token))).all()
        items, token = cut_page(rows, page_size, lambda r: r.id)
        return Page([org_view(r) for r in items], token)

    async def delete_org(self, p: Principal, name: str) -> None:
        require_admin(p, "only admins delete orgs")
        async with self._sessions() as s:
            org = await self._org(s, name, "name")
            users = (await s.exec(select(func.count()).where(UserRow.org_id == org.id))).one()
            teams = (await s.exec(select(func.count()).where(TeamRow.org_id == org.id))).one()
            if users or teams:
                raise FailedPrecondition(
                    f"org {org.name!r} still has {users} user(s) and {teams} team(s); delete them first",
                    field="name",
                )
            await s.delete(org)
            await s.commit()
