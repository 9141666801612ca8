"""Service accounts: non-human callers of a team, each with exactly one token and an owning user of the
team's org. Managed by the team's admins (and org-admins, admins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from core.auth.principal import Principal
from core.auth.tokens import generate_secret, hash_secret, preview
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamRow, UserRow
from core.errors import AlreadyExists, InvalidRequest, NotFound
from core.governance.authorization import deny, is_admin, is_org_admin_of, require_person
from core.tenancy import validation
from core.tenancy._base import TenancyBase
from core.tenancy.pagination import cut_page, page_query
from core.tenancy.views import CreatedServiceAccount, Page, ServiceAccountView


def account_select() -> Any:
    """Service accounts with team, org, owner email and token id, for views."""
    # sqlalchemy's select: sqlmodel's is typed for at most four entities.
    return (
        sa_select(ServiceAccountRow, col(TeamRow.name), col(OrgRow.name), col(UserRow.email), col(ApiTokenRow.id))
        .join(TeamRow, col(TeamRow.id) == col(ServiceAccountRow.team_id))
        .join(OrgRow, col(OrgRow.id) == col(TeamRow.org_id))
        .join(UserRow, col(UserRow.id) == col(ServiceAccountRow.owner_user_id))
        .outerjoin(ApiTokenRow, col(ApiTokenRow.service_account_id) == col(ServiceAccountRow.id))
    )


def account_view(row: ServiceAccountRow, team: str, org: str, owner: str, token_id: str | None) -> ServiceAccountView:
    return ServiceAccountView(
        id=row.id,
        name=row.name,
        team=team,
        org=org,
        owner_email=owner,
        token_id=token_id or "",
        created_at=row.created_at,
    )


class ServiceAccountOps(TenancyBase):
    async def create_service_account(
        self, p: Principal, name: str, team: str, org: str, owner_email: str = ""
    ) -> CreatedServiceAccount:
        """Creates the account and its token; `owner_email` defaults to the caller."""
        require_person(p, "service accounts cannot create service accounts")
        name = validation.name(name)
        async with self._sessions() as s:
            org_row, team_row = await self._team(s, org, team)
            if not await self._is_team_admin(s, p, team_row):
                raise deny(f"only admins of team {team_row.name!r} create its service accounts")
            owner = await self._user_or_caller(s, p, owner_email, "owner_email")
            if owner.org_id != org_row.id:
                raise InvalidRequest(
                    f"owner {owner.email!r} is not in the team's org {org_row.name!r}", field="owner_email"
                )
            taken = select(ServiceAccountRow).where(
                ServiceAccountRow.team_id == team_row.id, ServiceAccountRow.name == name
            )
            conflict = f"service account {name!r} already exists in team {team_row.name!r}"
            if (await s.exec(taken)).first() is not None:
                raise AlreadyExists(conflict, field="name")
            account = ServiceAccountRow(name=name, team_id=team_row.id, owner_user_id=owner.id)
            secret = generate_secret()
            token = ApiTokenRow(
                name=name,
                secret_hash=hash_secret(secret),
                preview=preview(secret),
                user_id=owner.id,
                service_account_id=account.id,
            )
            s.add(account)
            await s.flush()  # the token's foreign key needs the account row first
            s.add(token)
            await self._commit(s, conflict, "name")
        view = account_view(account, team_row.name, org_row.name, owner.email, token.id)
        return CreatedServiceAccount(view, secret)

    async def list_service_accounts(
        self, p: Principal, team: str = "", org: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[ServiceAccountView]:
        """Admins see all, org-admins their org's, users those of teams they administer and those they own."""
        require_person(p, "service accounts cannot list service accounts")
        stmt = account_select()
        async with self._sessions() as s:
            if team.strip():
                if not org.strip():
                    raise InvalidRequest("org is required with team", field="org")
                _, team_row = await self._team(s, org, team)
                if not await self._is_team_admin(s, p, team_row):
                    raise deny(f"only admins of team {team_row.name!r} list its service accounts")
                stmt = stmt.where(ServiceAccountRow.team_id == team_row.id)
            else:
                org_id = (await self._org(s, org)).id if org.strip() else None
                if org_id is not None:
                    stmt = stmt.where(TeamRow.org_id == org_id)
                if is_admin(p) or (org_id is not None and is_org_admin_of(p, org_id)):
                    pass
                elif org_id is None and is_org_admin_of(p, p.org_id or ""):
                    stmt = stmt.where(TeamRow.org_id == p.org_id)
                else:
                    team_ids = await self._admin_team_ids(s, p)
                    stmt = stmt.where(
                        or_(
                            col(ServiceAccountRow.owner_user_id) == (p.user_id or ""),
                            col(ServiceAccountRow.team_id).in_(team_ids),
                        )
                    )
            rows = (await s.exec(page_query(stmt, col(ServiceAccountRow.id), page_size, page_token))).all()
        items, next_token = cut_page(rows, page_size, lambda r: r[0].id)
        return Page([account_view(*r) for r in items], next_token)

    async def delete_service_account(self, p: Principal, name: str, team: str, org: str) -> None:
        """Deletes the account and its token."""
        require_person(p, "service accounts cannot delete service accounts")
        async with self._sessions() as s:
            _, team_row = await self._team(s, org, team)
            if not await self._is_team_admin(s, p, team_row):
                raise deny(f"only admins of team {team_row.name!r} delete its service accounts")
            name = validation.name(name)
            found = select(ServiceAccountRow).where(
                ServiceAccountRow.team_id == team_row.id, ServiceAccountRow.name == name
            )
            account = (await s.exec(found)).first()
            if account is None:
                raise NotFound(f"service account {name!r} not found in team {team_row.name!r}", field="name")
            tokens = (await s.exec(select(ApiTokenRow).where(ApiTokenRow.service_account_id == account.id))).all()
            for token in tokens:
                await s.delete(token)
            await s.flush()  # tokens reference the account
            await s.delete(account)
            await s.commit()
        self._forget(t.secret_hash for t in tokens)
