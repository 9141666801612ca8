"""Service accounts: non-human callers of a team, each with exactly one token and an owning user of the
team's org. Managed by the team's admins (and org-admins, admins); the owner may read theirs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.principal import Principal
from core.auth.tokens import generate_secret, hash_secret, preview
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamMemberRow, TeamRow, UserRow
from core.errors import AlreadyExists, FailedPrecondition
from core.governance.authorization import (
    ListScope,
    deny,
    list_scope,
    may_manage_team_accounts,
    may_name_as_owner,
    may_see_service_account,
    require_person,
)
from core.pagination import Page, paginate
from core.tenancy._store import (
    TenancyStore,
    admin_team_ids,
    commit,
    find_org,
    find_team,
    is_team_admin,
    not_found,
    user_or_caller,
)
from core.tenancy.names import OrgName, ServiceAccountName, TeamName, UserName
from core.tenancy.views import CreatedServiceAccount, ServiceAccountView

OWNER_FIELD = "service_account.owner"
_MANAGERS = "only the team's admins, the org's org-admins and admins manage its service accounts"


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


class ServiceAccounts:
    def __init__(self, store: TenancyStore) -> None:
        self._store = store

    async def get(self, p: Principal, name: ServiceAccountName) -> ServiceAccountView:
        async with self._store.sessions() as s:
            await self._find(s, p, name)
            return await _view(s, name)

    async def create(self, p: Principal, name: ServiceAccountName, owner: UserName | None) -> CreatedServiceAccount:
        """Creates the account and its token; `owner` defaults to the caller."""
        require_person(p, "service accounts cannot create service accounts")
        conflict = f"{name} already exists"
        async with self._store.sessions() as s:
            org_row, team_row = await find_team(s, p, TeamName(name.org, name.team), "parent")
            if not may_manage_team_accounts(p, org_row.id, team_admin=await is_team_admin(s, p, team_row.id)):
                raise deny(_MANAGERS)
            owner_row = await _owner(s, p, owner, team_row)
            _require_same_org(owner_row, org_row)
            taken = select(ServiceAccountRow).where(
                ServiceAccountRow.team_id == team_row.id, ServiceAccountRow.name == name.account
            )
            if (await s.exec(taken)).first() is not None:
                raise AlreadyExists(conflict, field="service_account_id")
            account = ServiceAccountRow(name=name.account, team_id=team_row.id, owner_user_id=owner_row.id)
            secret = generate_secret()
            token = ApiTokenRow(
                name=name.account,
                secret_hash=hash_secret(secret),
                preview=preview(secret),
                user_id=owner_row.id,
                service_account_id=account.id,
            )
            s.add(account)
            await s.flush()  # the token's foreign key needs the account row first
            s.add(token)
            await commit(s, conflict, "service_account_id")
        view = account_view(account, team_row.name, org_row.name, owner_row.email, token.id)
        return CreatedServiceAccount(view, secret)

    async def set_owner(self, p: Principal, name: ServiceAccountName, owner: UserName) -> ServiceAccountView:
        """Hands the account (and so its token's identity and usage) to another user of the team's org."""
        require_person(p, "service accounts cannot change service accounts")
        async with self._store.sessions() as s:
            account, org_row, may_manage = await self._find(s, p, name)
            if not may_manage:
                raise deny(_MANAGERS)
            team_row = await s.get(TeamRow, account.team_id)
            assert team_row is not None  # foreign key
            owner_row = await _owner(s, p, owner, team_row)
            _require_same_org(owner_row, org_row)
            account.owner_user_id = owner_row.id
            tokens = (await s.exec(select(ApiTokenRow).where(ApiTokenRow.service_account_id == account.id))).all()
            for token in tokens:
                token.user_id = owner_row.id
                s.add(token)
            s.add(account)
            await s.commit()
            view = await _view(s, name)
        # Cached principals of the token still name the old owner.
        self._store.forget(t.secret_hash for t in tokens)
        return view

    async def list(
        self, p: Principal, parent: OrgName | TeamName | None, page_size: int, page_token: str
    ) -> Page[ServiceAccountView]:
        """Admins see all, org-admins their org's, users those of teams they administer and those they own."""
        require_person(p, "service accounts cannot list service accounts")
        stmt = account_select()
        async with self._store.sessions() as s:
            if isinstance(parent, TeamName):
                org_row, team_row = await find_team(s, p, parent, "parent")
                if not may_manage_team_accounts(p, org_row.id, team_admin=await is_team_admin(s, p, team_row.id)):
                    raise deny(_MANAGERS)
                stmt = stmt.where(ServiceAccountRow.team_id == team_row.id)
            else:
                org_id = (await find_org(s, p, parent, "parent")).id if parent is not None else None
                if org_id is not None:
                    stmt = stmt.where(TeamRow.org_id == org_id)
                scope = list_scope(p)
                if scope is ListScope.ORG:
                    stmt = stmt.where(TeamRow.org_id == p.org_id)
                elif scope is ListScope.OWN:
                    team_ids = await admin_team_ids(s, p)
                    stmt = stmt.where(
                        or_(
                            col(ServiceAccountRow.owner_user_id) == (p.user_id or ""),
                            col(ServiceAccountRow.team_id).in_(team_ids),
                        )
                    )
            page = await paginate(
                s,
                stmt,
                key=col(ServiceAccountRow.id),
                key_of=lambda r: r[0].id,
                page_size=page_size,
                page_token=page_token,
                scope=str(parent or ""),
            )
        return Page([account_view(*r) for r in page.items], page.next_page_token)

    async def delete(self, p: Principal, name: ServiceAccountName) -> None:
        """Deletes the account and its token."""
        require_person(p, "service accounts cannot delete service accounts")
        async with self._store.sessions() as s:
            account, _, may_manage = await self._find(s, p, name)
            if not may_manage:
                raise deny(_MANAGERS)
            tokens = (await s.exec(select(ApiTokenRow).where(ApiTokenRow.service_account_id == account.id))).all()
            for token in tokens:
                await s.delete(token)
            await s.flush()  # tokens reference the account
            await s.delete(account)
            await s.commit()
        self._store.forget(t.secret_hash for t in tokens)

    @staticmethod
    async def _find(s: AsyncSession, p: Principal, name: ServiceAccountName) -> tuple[ServiceAccountRow, OrgRow, bool]:
        """The account and its org, if the caller may see it; whether they may also manage it."""
        found = (
            await s.exec(
                select(ServiceAccountRow, TeamRow, OrgRow)
                .join(TeamRow, col(TeamRow.id) == col(ServiceAccountRow.team_id))
                .join(OrgRow, col(OrgRow.id) == col(TeamRow.org_id))
                .where(OrgRow.name == name.org, TeamRow.name == name.team, ServiceAccountRow.name == name.account)
            )
        ).first()
        if found is None:
            raise not_found(name)
        account, team, org = found
        team_admin = await is_team_admin(s, p, team.id)
        if not may_see_service_account(p, org.id, account.owner_user_id, team_admin=team_admin):
            raise not_found(name)
        return account, org, may_manage_team_accounts(p, org.id, team_admin=team_admin)


async def _owner(s: AsyncSession, p: Principal, owner: UserName | None, team: TeamRow) -> UserRow:
    """The user named as owner (default: the caller), if the caller may name them."""
    if owner is None:
        return await user_or_caller(s, p, None, OWNER_FIELD)
    row = (await s.exec(select(UserRow).where(UserRow.email == owner.email))).first()
    member = row is not None and await s.get(TeamMemberRow, (team.id, row.id)) is not None
    if row is None or not may_name_as_owner(p, row.id, row.org_id, team_member=member):
        raise not_found(owner, OWNER_FIELD)
    return row


def _require_same_org(owner: UserRow, org: OrgRow) -> None:
    if owner.org_id != org.id:
        raise FailedPrecondition(f"users/{owner.email} is not in the team's org orgs/{org.name}", field=OWNER_FIELD)


async def _view(s: AsyncSession, name: ServiceAccountName) -> ServiceAccountView:
    row = (
        await s.exec(
            account_select().where(
                OrgRow.name == name.org, TeamRow.name == name.team, ServiceAccountRow.name == name.account
            )
        )
    ).one()
    return account_view(*row)
