"""Bearer token -> Principal, through the token cache (see token_cache.py for the freshness guarantees)."""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col

from core.auth.clock import Clock, SystemClock
from core.auth.principal import Principal, Role
from core.auth.throttle import FailureThrottle
from core.auth.token_cache import TokenCache, TokenRecord
from core.auth.tokens import SECRET_PREFIX, hash_secret
from core.db.tables import ApiTokenRow, OrgRow, ServiceAccountRow, TeamRow, UserRow
from core.errors import InvalidToken, MissingCredentials, TokenExpired
from core.settings import Settings

_BEARER = "bearer"


def _engine(source: AsyncEngine | async_sessionmaker[Any]) -> AsyncEngine:
    if isinstance(source, AsyncEngine):
        return source
    bind = source.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("Authenticator needs an AsyncEngine or a sessionmaker bound to one")
    return bind


def parse_bearer(authorization: str | None) -> str:
    """The token of an `authorization: Bearer <token>` value."""
    if authorization is None or not authorization.strip():
        raise MissingCredentials("missing bearer token: send 'authorization: Bearer sk-...'")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _BEARER or not token:
        raise InvalidToken("the authorization header must be 'Bearer <token>'")
    return token


class Authenticator:
    """`admin_token` is the bootstrap admin credential (settings.admin_token); None disables it."""

    def __init__(
        self,
        engine_or_sessionmaker: AsyncEngine | async_sessionmaker[Any],
        settings: Settings,
        admin_token: str | None = None,
        *,
        clock: Clock | None = None,
        max_cache_entries: int | None = None,
    ) -> None:
        self._engine = _engine(engine_or_sessionmaker)
        self._clock = clock or SystemClock()
        self._admin_hash = hash_secret(admin_token).encode() if admin_token else None
        max_entries = max_cache_entries or settings.token_cache_max_entries
        self.cache = TokenCache(
            self.lookup,
            ttl=settings.token_cache_ttl_seconds,
            negative_ttl=settings.negative_token_cache_ttl_seconds,
            max_entries=max_entries,
            clock=self._clock,
        )
        self.throttle = FailureThrottle(
            limit=settings.auth_failure_limit,
            window=settings.auth_failure_window_seconds,
            block=settings.auth_failure_block_seconds,
            max_addresses=max_entries,
            clock=self._clock,
        )

    async def authenticate(self, authorization_header_value: str | None, client: str | None = None) -> Principal:
        """The caller's Principal. `client` is the caller's address: unknown and expired tokens from it are
        counted, and while it is throttled every attempt is refused (RateLimited) before any lookup."""
        self.throttle.check(client)
        try:
            return await self._authenticate(authorization_header_value)
        except (InvalidToken, TokenExpired):
            self.throttle.failed(client)
            raise

    async def _authenticate(self, authorization_header_value: str | None) -> Principal:
        secret = parse_bearer(authorization_header_value)
        secret_hash = hash_secret(secret)
        if self._admin_hash is not None and hmac.compare_digest(secret_hash.encode(), self._admin_hash):
            return Principal(role=Role.ADMIN, is_bootstrap_admin=True)
        if not secret.startswith(SECRET_PREFIX):
            raise InvalidToken("invalid token")
        record = await self.cache.get(secret_hash)
        if record is None:
            raise InvalidToken("invalid token")
        if record.expires_at is not None and record.expires_at <= self._clock.now():
            raise TokenExpired("the token has expired")
        return record.principal

    def invalidate(self, secret_hash: str) -> None:
        """Forget a token at once on this replica (others follow within the cache TTL)."""
        self.cache.invalidate(secret_hash)

    async def lookup(self, secret_hash: str) -> TokenRecord | None:
        """One database round trip: the token with its owner, org, and service account/team if any."""
        stmt = (
            select(
                col(ApiTokenRow.id),
                col(ApiTokenRow.name),
                col(ApiTokenRow.expires_at),
                col(UserRow.id),
                col(UserRow.email),
                col(UserRow.role),
                col(OrgRow.id),
                col(OrgRow.name),
                col(ServiceAccountRow.id),
                col(ServiceAccountRow.name),
                col(TeamRow.id),
                col(TeamRow.name),
            )
            .join(UserRow, col(UserRow.id) == col(ApiTokenRow.user_id))
            .join(OrgRow, col(OrgRow.id) == col(UserRow.org_id))
            .outerjoin(ServiceAccountRow, col(ServiceAccountRow.id) == col(ApiTokenRow.service_account_id))
            .outerjoin(TeamRow, col(TeamRow.id) == col(ServiceAccountRow.team_id))
            .where(col(ApiTokenRow.secret_hash) == secret_hash)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        tok_id, tok_name, expires_at, user_id, email, role, org_id, org_name, sa_id, sa_name, team_id, team_name = (
            tuple(row)
        )
        # A service account acts as a plain user of its team, whatever its owner's role.
        principal = Principal(
            role=Role.USER if sa_id is not None else Role(role),
            token_id=tok_id,
            token_name=tok_name,
            user_id=user_id,
            user_email=email,
            org_id=org_id,
            org_name=org_name,
            team_id=team_id,
            team_name=team_name,
            service_account_id=sa_id,
            service_account_name=sa_name,
        )
        return TokenRecord(principal=principal, expires_at=expires_at)
