"""API tokens: personal tokens (create, read, rename, re-expire, regenerate, delete) and the views of
service-account tokens. Who may see or manage one is decided in core.governance.authorization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.principal import Principal, Role
from core.auth.tokens import generate_secret, hash_secret, preview
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamRow, UserRow
from core.errors import FailedPrecondition, InvalidRequest, QuotaExceeded
from core.governance.authorization import (
    ListScope,
    deny,
    list_scope,
    may_manage_token,
    may_manage_user,
    may_see_token,
    require_person,
)
from core.pagination import Page, paginate
from core.tenancy import validation
from core.tenancy._store import TenancyStore, admin_team_ids, find_user, is_team_admin, not_found, user_or_caller
from core.tenancy.names import ServiceAccountName, TokenName, UserName
from core.tenancy.views import CreatedToken, TokenView

EXPIRE_FIELD = "expire_time"


def token_select() -> Any:
    """Tokens with their owner's email and, for service-account tokens, the account's full name parts."""
    # sqlalchemy's select through sqlmodel: typed for at most four entities, so the columns are untyped here.
    return (
        select(ApiTokenRow, UserRow.email, ServiceAccountRow.name, TeamRow.name, OrgRow.name)  # type: ignore[call-overload]
        .join(UserRow, col(UserRow.id) == col(ApiTokenRow.user_id))
        .outerjoin(ServiceAccountRow, col(ServiceAccountRow.id) == col(ApiTokenRow.service_account_id))
        .outerjoin(TeamRow, col(TeamRow.id) == col(ServiceAccountRow.team_id))
        .outerjoin(OrgRow, col(OrgRow.id) == col(TeamRow.org_id))
    )


def token_view(row: ApiTokenRow, email: str, account: ServiceAccountName | None) -> TokenView:
    return TokenView(
        id=row.id,
        name=row.name,
        preview=row.preview,
        user_email=email,
        service_account=account,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def _account_name(account: str | None, team: str | None, org: str | None) -> ServiceAccountName | None:
    """The service account's name from token_select()'s outer-joined columns (None for personal tokens)."""
    return ServiceAccountName(org, team, account) if account and team and org else None


@dataclass(frozen=True, slots=True)
class TokenChanges:
    """What UpdateToken changes: a new label, and/or a new expiry (`expires_at` None then means never)."""

    display_name: str | None = None
    change_expiry: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Found:
    row: ApiTokenRow
    owner: UserRow
    account: ServiceAccountName | None
    may_manage: bool


class Tokens:
    def __init__(self, store: TenancyStore) -> None:
        self._store = store

    async def get(self, p: Principal, name: TokenName) -> TokenView:
        async with self._store.sessions() as s:
            found = await self._find(s, p, name)
        return token_view(found.row, found.owner.email, found.account)

    async def create(
        self, p: Principal, owner: UserName | None, name: str, expires_at: datetime | None = None
    ) -> CreatedToken:
        """A personal token for `owner` (default: the caller). The secret is in the result only."""
        require_person(p, "service accounts cannot create tokens")
        name = validation.token_name(name, "token.display_name")
        self._check_expiry(expires_at)
        async with self._store.sessions() as s:
            user = await user_or_caller(s, p, owner, "token.user")
            if not may_manage_user(p, user.id, user.org_id, Role(user.role)):
                raise deny("only admins manage an admin's tokens")
            personal = select(func.count()).where(
                ApiTokenRow.user_id == user.id, col(ApiTokenRow.service_account_id).is_(None)
            )
            cap = self._store.settings.max_tokens_per_user
            if (await s.exec(personal)).one() >= cap:
                raise QuotaExceeded(
                    f"users/{user.email} already has the maximum of {cap} personal tokens; delete one first",
                    metadata={"limit": str(cap)},
                )
            secret = generate_secret()
            row = ApiTokenRow(
                name=name,
                secret_hash=hash_secret(secret),
                preview=preview(secret),
                user_id=user.id,
                expires_at=expires_at,
            )
            s.add(row)
            await s.commit()
        return CreatedToken(token_view(row, user.email, None), secret)

    async def update(self, p: Principal, name: TokenName, changes: TokenChanges) -> TokenView:
        """Renames and/or re-expires. Giving an expired token a future expiry revives it."""
        require_person(p, "service accounts cannot change tokens")
        new_name = None
        if changes.display_name is not None:
            new_name = validation.token_name(changes.display_name, "token.display_name")
        if changes.change_expiry:
            self._check_expiry(changes.expires_at)
        async with self._store.sessions() as s:
            found = await self._managed(s, p, name)
            row = found.row
            if new_name is not None:
                row.name = new_name
            if changes.change_expiry:
                row.expires_at = changes.expires_at
            s.add(row)
            await s.commit()
            await s.refresh(row)
        # The auth cache holds the expiry: forget it so the change applies at once here.
        self._store.forget([row.secret_hash])
        return token_view(row, found.owner.email, found.account)

    async def list(self, p: Principal, owner: UserName | None, page_size: int, page_token: str) -> Page[TokenView]:
        """Admins see all, org-admins their org's, users their own and their administered teams' accounts';
        a service account sees its own token."""
        stmt = token_select()
        async with self._store.sessions() as s:
            if p.service_account_id is not None:
                if owner is not None:
                    raise deny("a service account sees only its own token")
                stmt = stmt.where(ApiTokenRow.id == p.token_id)
            elif owner is not None:
                user = await find_user(s, p, owner, "user")
                stmt = stmt.where(ApiTokenRow.user_id == user.id)
            elif (scope := list_scope(p)) is ListScope.ORG:
                stmt = stmt.where(UserRow.org_id == p.org_id)
            elif scope is ListScope.OWN:
                team_ids = await admin_team_ids(s, p)
                stmt = stmt.where(
                    or_(
                        col(ApiTokenRow.user_id) == (p.user_id or ""),
                        col(ServiceAccountRow.team_id).in_(team_ids),
                    )
                )
            page = await paginate(
                s,
                stmt,
                key=col(ApiTokenRow.id),
                key_of=lambda r: r[0].id,
                page_size=page_size,
                page_token=page_token,
                scope=str(owner or ""),
            )
        return Page([token_view(r[0], r[1], _account_name(*r[2:])) for r in page.items], page.next_page_token)

    async def regenerate(self, p: Principal, name: TokenName) -> CreatedToken:
        """A new secret for the same token; the old one stops working (here at once, elsewhere within the
        auth cache TTL)."""
        require_person(p, "service accounts cannot regenerate tokens")
        async with self._store.sessions() as s:
            found = await self._managed(s, p, name)
            row = found.row
            old_hash = row.secret_hash
            secret = generate_secret()
            row.secret_hash = hash_secret(secret)
            row.preview = preview(secret)
            s.add(row)
            await s.commit()
            await s.refresh(row)
        self._store.forget([old_hash])
        return CreatedToken(token_view(row, found.owner.email, found.account), secret)

    async def delete(self, p: Principal, name: TokenName) -> None:
        require_person(p, "service accounts cannot delete tokens")
        async with self._store.sessions() as s:
            found = await self._managed(s, p, name)
            if found.account is not None:
                raise FailedPrecondition(
                    f"{name} belongs to {found.account}; delete the service account or regenerate its token instead",
                    field="name",
                )
            await s.delete(found.row)
            await s.commit()
        self._store.forget([found.row.secret_hash])

    def _check_expiry(self, expires_at: datetime | None) -> None:
        if expires_at is not None and expires_at <= self._store.clock.now():
            raise InvalidRequest("expire_time must be in the future", field=f"token.{EXPIRE_FIELD}")

    async def _managed(self, s: AsyncSession, p: Principal, name: TokenName) -> _Found:
        found = await self._find(s, p, name)
        if not found.may_manage:
            raise deny("only the token's owner, its org's org-admins (not for an admin's token) and admins manage it")
        return found

    async def _find(self, s: AsyncSession, p: Principal, name: TokenName) -> _Found:
        """The token, if the caller may see it; whether they may also manage it."""
        result = (await s.exec(token_select().where(ApiTokenRow.id == name.token_id))).first()
        if result is None:
            raise not_found(name)
        row, _, account, team_name, org_name = result
        owner = await s.get(UserRow, row.user_id)
        assert owner is not None  # foreign key
        account_org_id: str | None = None
        team_admin = False
        if row.service_account_id is not None:
            sa = await s.get(ServiceAccountRow, row.service_account_id)
            team = await s.get(TeamRow, sa.team_id) if sa is not None else None
            assert team is not None  # foreign keys
            account_org_id = team.org_id
            team_admin = await is_team_admin(s, p, team.id)
        if not may_see_token(p, row.id, owner.id, owner.org_id, account_org_id=account_org_id, team_admin=team_admin):
            raise not_found(name)
        may = may_manage_token(
            p, owner.id, owner.org_id, Role(owner.role), account_org_id=account_org_id, team_admin=team_admin
        )
        return _Found(row, owner, _account_name(account, team_name, org_name), may)
