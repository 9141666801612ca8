"""Orgs: created and deleted by admins; everyone else sees only their own."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from core.auth.principal import Principal
from core.db.tables import OrgRow, TeamRow, UserRow
from core.errors import AlreadyExists, FailedPrecondition
from core.governance.authorization import ListScope, list_scope, require_admin, require_person
from core.pagination import Page, paginate
from core.tenancy._store import TenancyStore, commit, find_org
from core.tenancy.names import OrgName
from core.tenancy.views import OrgView


def org_view(row: OrgRow) -> OrgView:
    return OrgView(id=row.id, name=row.name, created_at=row.created_at)


class Orgs:
    def __init__(self, store: TenancyStore) -> None:
        self._store = store

    async def get(self, p: Principal, name: OrgName) -> OrgView:
        async with self._store.sessions() as s:
            return org_view(await find_org(s, p, name))

    async def create(self, p: Principal, name: OrgName) -> OrgView:
        require_admin(p, "only admins create orgs")
        conflict = f"{name} already exists"
        async with self._store.sessions() as s:
            if (await s.exec(select(OrgRow).where(OrgRow.name == name.org))).first() is not None:
                raise AlreadyExists(conflict, field="org_id")
            row = OrgRow(name=name.org)
            s.add(row)
            await commit(s, conflict, "org_id")
        return org_view(row)

    async def list(self, p: Principal, page_size: int, page_token: str) -> Page[OrgView]:
        require_person(p, "service accounts cannot list orgs")
        stmt = select(OrgRow)
        if list_scope(p) is not ListScope.ALL:
            stmt = stmt.where(OrgRow.id == (p.org_id or ""))
        async with self._store.sessions() as s:
            page = await paginate(
                s, stmt, key=col(OrgRow.id), key_of=lambda r: r.id, page_size=page_size, page_token=page_token
            )
        return Page([org_view(r) for r in page.items], page.next_page_token)

    async def delete(self, p: Principal, name: OrgName) -> None:
        require_admin(p, "only admins delete orgs")
        async with self._store.sessions() as s:
            org = await find_org(s, p, name)
            users = (await s.exec(select(func.count()).where(UserRow.org_id == org.id))).one()
            teams = (await s.exec(select(func.count()).where(TeamRow.org_id == org.id))).one()
            if users or teams:
                raise FailedPrecondition(
                    f"{name} still has {users} user(s) and {teams} team(s); delete them first", field="name"
                )
            await s.delete(org)
            await s.commit()
