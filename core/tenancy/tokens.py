"""API tokens: personal tokens (create, list, regenerate, delete) and the views of service-account tokens.

Who may manage a token: its owner, admins, and org-admins of the owner's org (not for admins' tokens). A
service account's token is also managed by its team's admins; it is deleted with its service account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.principal import Principal
from core.auth.tokens import generate_secret, hash_secret, preview
from core.db.tables import ApiTokenRow, ServiceAccountRow, TeamRow, UserRow
from core.errors import FailedPrecondition, InvalidRequest, NotFound, QuotaExceeded
from core.governance.authorization import deny, is_admin, is_org_admin_of, require_person
from core.tenancy import validation
from core.tenancy._base import TenancyBase
from core.tenancy.pagination import cut_page, page_query
from core.tenancy.views import CreatedToken, Page, TokenView

EXPIRE_FIELD = "expire_time"


def token_view(row: ApiTokenRow, user_email: str, service_account: str | None) -> TokenView:
    return TokenView(
        id=row.id,
        name=row.name,
        preview=row.preview,
        user_email=user_email,
        service_account=service_account,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def token_select() -> Any:
    """Tokens with their owner's email and service account name, for views."""
    return (
        select(ApiTokenRow, UserRow.email, ServiceAccountRow.name)
        .join(UserRow, col(UserRow.id) == col(ApiTokenRow.user_id))
        .outerjoin(ServiceAccountRow, col(ServiceAccountRow.id) == col(ApiTokenRow.service_account_id))
    )


class TokenOps(TenancyBase):
    async def create_token(
        self, p: Principal, user_email: str = "", name: str = "", expires_at: datetime | None = None
    ) -> CreatedToken:
        """A personal token for `user_email` (default: the caller). The secret is in the result only."""
        require_person(p, "service accounts cannot create tokens")
        name = validation.token_name(name)
        if expires_at is not None and expires_at <= self._clock.now():
            raise InvalidRequest("expire_time must be in the future", field=EXPIRE_FIELD)
        async with self._sessions() as s:
            owner = await self._user_or_caller(s, p, user_email, "user_email")
            if not self._may_manage_user(p, owner):
                raise deny(f"cannot create tokens for {owner.email!r}")
            personal = select(func.count()).where(
                ApiTokenRow.user_id == owner.id, col(ApiTokenRow.service_account_id).is_(None)
            )
            cap = self._settings.max_tokens_per_user
            if (await s.exec(personal)).one() >= cap:
                raise QuotaExceeded(
                    f"{owner.email!r} already has the maximum of {cap} personal tokens; delete one first",
                    metadata={"limit": str(cap)},
                )
            secret = generate_secret()
            row = ApiTokenRow(
                name=name,
                secret_hash=hash_secret(secret),
                preview=preview(secret),
                user_id=owner.id,
                expires_at=expires_at,
            )
            s.add(row)
            await s.commit()
        return CreatedToken(token_view(row, owner.email, None), secret)

    async def list_tokens(
        self, p: Principal, user_email: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page[TokenView]:
        """Admins see all, org-admins their org's, users their own and their administered teams' accounts';
        a service account sees its own token."""
        stmt = token_select()
        async with self._sessions() as s:
            if p.service_account_id is not None:
                if user_email.strip():
                    raise deny("a service account sees only its own token")
                stmt = stmt.where(ApiTokenRow.id == p.token_id)
            elif user_email.strip():
                owner = await self._user(s, user_email, "user_email")
                if not self._may_manage_user(p, owner):
                    raise deny(f"cannot list tokens of {owner.email!r}")
                stmt = stmt.where(ApiTokenRow.user_id == owner.id)
            elif is_admin(p):
                pass
            elif is_org_admin_of(p, p.org_id or ""):
                stmt = stmt.where(UserRow.org_id == p.org_id)
            else:
                team_ids = await self._admin_team_ids(s, p)
                stmt = stmt.where(
                    or_(
                        col(ApiTokenRow.user_id) == (p.user_id or ""),
                        col(ServiceAccountRow.team_id).in_(team_ids),
                    )
                )
            rows = (await s.exec(page_query(stmt, col(ApiTokenRow.id), page_size, page_token))).all()
        items, token = cut_page(rows, page_size, lambda r: r[0].id)
        return Page([token_view(t, email, sa) for t, email, sa in items], token)

    async def regenerate_token(self, p: Principal, token_id: str) -> CreatedToken:
        """A new secret for the same token; the old one stops working (here at once, elsewhere within the
        auth cache TTL)."""
        require_person(p, "service accounts cannot regenerate tokens")
        async with self._sessions() as s:
            row, owner, sa_name = await self._managed_token(s, p, token_id)
            old_hash = row.secret_hash
            secret = generate_secret()
            row.secret_hash = hash_secret(secret)
            row.preview = preview(secret)
            s.add(row)
            await s.commit()
        self._forget([old_hash])
        return CreatedToken(token_view(row, owner.email, sa_name), secret)

    async def delete_token(self, p: Principal, token_id: str) -> None:
        require_person(p, "service accounts cannot delete tokens")
        async with self._sessions() as s:
            row, _, sa_name = await self._managed_token(s, p, token_id)
            if sa_name is not None:
                raise FailedPrecondition(
                    f"token {token_id!r} belongs to service account {sa_name!r}; delete the service account "
                    "or regenerate its token instead",
                    field="id",
                )
            await s.delete(row)
            await s.commit()
        self._forget([row.secret_hash])

    async def _managed_token(
        self, s: AsyncSession, p: Principal, token_id: str
    ) -> tuple[ApiTokenRow, UserRow, str | None]:
        """The token, its owner and its service account's name, if the caller may manage it."""
        row = await s.get(ApiTokenRow, token_id.strip()) if token_id.strip() else None
        if row is None:
            raise NotFound(f"token {token_id!r} not found", field="id")
        owner = await s.get(UserRow, row.user_id)
        assert owner is not None  # foreign key
        if row.service_account_id is None:
            if not self._may_manage_user(p, owner):
                raise deny(f"cannot manage token {token_id!r}")
            return row, owner, None
        account = await s.get(ServiceAccountRow, row.service_account_id)
        assert account is not None  # foreign key
        team = await s.get(TeamRow, account.team_id)
        assert team is not None  # foreign key
        if not (owner.id == p.user_id or await self._is_team_admin(s, p, team)):
            raise deny(f"cannot manage token {token_id!r}")
        return row, owner, account.name
