"""Rate limits as resources (`{scope}/rateLimits/{member|total|token}`): read with what applies after
inheritance and the current window, update by field, delete. Writes go to the database and reload this
replica's copy at once; other replicas follow within governance_cache_ttl_seconds."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.tables import RateLimitRow
from core.db.types import utcnow
from core.errors import InvalidRequest, NotFound
from core.governance.access.scope import Scope, resolve_scope, split_child
from core.governance.authorization import require_manage_scope, require_read_scope
from core.governance.limits.backend import KeyState
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.model import REQUEST_UNITS, Level, LimitValues, ScopeKind
from core.governance.limits.snapshot import RefreshingSnapshot
from core.governance.limits.store import LimitTable
from core.pagination import paginate_items

_TABLE = RateLimitRow.metadata.tables["rate_limits"]
# Postgres INTEGER; a larger limit is a typo, not a plan.
MAX_LIMIT = 2**31 - 1
DIMENSIONS = ("rpm", "input_tpm", "output_tpm")
COLLECTION = "rateLimits"
NAME_FIELD = "name"
UPDATE_NAME_FIELD = "rate_limit.name"


class LimitId(enum.StrEnum):
    """The last segment of a rate limit's name."""

    MEMBER = "member"
    TOTAL = "total"
    TOKEN = "token"


# The rate limits each kind of scope has, in the order List shows them.
LIMIT_IDS = {
    ScopeKind.ORG: (LimitId.MEMBER, LimitId.TOTAL),
    ScopeKind.TEAM: (LimitId.MEMBER, LimitId.TOTAL),
    ScopeKind.USER: (LimitId.MEMBER,),
    ScopeKind.TOKEN: (LimitId.TOKEN,),
}


@dataclass(frozen=True, slots=True)
class Source:
    """Where an effective value is set: the level and the scope's resource name."""

    level: Level
    scope: str


@dataclass(frozen=True, slots=True)
class RateLimitView:
    """One rate limit: what is stored there, what admission enforces (with sources, None when not limited),
    and the current window (None for an org's or team's per-member limit: each member has their own)."""

    name: str
    level: Level
    own: LimitValues
    effective: LimitValues
    sources: tuple[Source | None, Source | None, Source | None]  # rpm, input_tpm, output_tpm
    usage: KeyState | None

    @property
    def used_requests(self) -> float:
        return self.usage.used[0] / REQUEST_UNITS if self.usage is not None else 0.0


def _level(scope: Scope, limit: LimitId) -> Level:
    if limit is LimitId.TOTAL:
        return Level.ORG_POOL if scope.kind is ScopeKind.ORG else Level.TEAM_POOL
    return Level.TOKEN if limit is LimitId.TOKEN else Level.MEMBER


def _window_key(scope: Scope, limit: LimitId) -> str | None:
    """The limiter's key of this rate limit's window (core.governance.limits.plan names the same keys)."""
    if limit is LimitId.TOTAL:
        return f"o:{scope.id}" if scope.kind is ScopeKind.ORG else f"tm:{scope.id}"
    if scope.kind is ScopeKind.USER:
        return f"m:u:{scope.id}"
    return f"t:{scope.id}" if scope.kind is ScopeKind.TOKEN else None


def _check_values(values: LimitValues) -> None:
    for name in DIMENSIONS:
        value = getattr(values, name)
        if value is not None and not 0 <= value <= MAX_LIMIT:
            raise InvalidRequest(f"{name} must be between 0 and {MAX_LIMIT}", field=f"rate_limit.{name}")


def _fields(values: LimitValues, mask: Collection[str]) -> set[str]:
    """The dimensions an update writes (AIP-134): the mask's, `*` for all, or the set ones when it is empty."""
    if not mask:
        fields = {name for name in DIMENSIONS if getattr(values, name) is not None}
        if not fields:
            raise InvalidRequest("give at least one of rpm, input_tpm, output_tpm", field="rate_limit.rpm")
        return fields
    if "*" in mask:
        return set(DIMENSIONS)
    unknown = sorted(set(mask) - set(DIMENSIONS))
    if unknown:
        raise InvalidRequest(
            f"update_mask may name rpm, input_tpm and output_tpm only, not {unknown}", field="update_mask"
        )
    return set(mask)


class LimitsAdmin:
    def __init__(self, engine: AsyncEngine, snapshot: RefreshingSnapshot[LimitTable], limiter: FailoverLimiter):
        self._engine = engine
        self._snapshot = snapshot
        self._limiter = limiter

    async def _scope(self, name: str, field: str) -> Scope:
        async with self._engine.connect() as conn:
            return await resolve_scope(conn, name, field)

    async def _limit(self, p: Principal, name: str, *, manage: bool, field: str = NAME_FIELD) -> tuple[Scope, LimitId]:
        scope_name, last = split_child(name, COLLECTION, field)
        scope = await self._scope(scope_name, field)
        (require_manage_scope if manage else require_read_scope)(p, scope, field)
        ids = LIMIT_IDS[scope.kind]
        if last not in ids:
            if last == LimitId.TOTAL:
                raise InvalidRequest("a total (pool) applies to an org or a team only", field=field)
            raise InvalidRequest(f"the rate limits of {scope.name} are {', '.join(ids)}", field=field)
        return scope, LimitId(last)

    async def get(self, p: Principal, name: str) -> RateLimitView:
        scope, limit = await self._limit(p, name, manage=False)
        return (await self._views(scope, [limit]))[0]

    async def list_limits(
        self, p: Principal, parent: str, page_size: int, page_token: str
    ) -> tuple[list[RateLimitView], str]:
        scope = await self._scope(parent, "parent")
        require_read_scope(p, scope, "parent")
        page = paginate_items(
            LIMIT_IDS[scope.kind], key_of=str, page_size=page_size, page_token=page_token, scope=scope.name
        )
        return await self._views(scope, page.items), page.next_page_token

    async def update(
        self, p: Principal, name: str, values: LimitValues, mask: Collection[str], *, allow_missing: bool
    ) -> RateLimitView:
        """Stores the masked dimensions (an unset one is removed); a rate limit left without values is deleted."""
        fields = _fields(values, mask)
        _check_values(values)
        scope, limit = await self._limit(p, name, manage=True, field=UPDATE_NAME_FIELD)
        key = {"scope_kind": scope.kind.value, "scope_id": scope.id, "pool": limit is LimitId.TOTAL}
        where = [_TABLE.c[k] == v for k, v in key.items()]
        async with self._engine.begin() as conn:
            row = (await conn.execute(select(_TABLE).where(*where).with_for_update())).first()
            if row is None and not allow_missing:
                raise NotFound(
                    f"nothing is stored at {scope.name}/{COLLECTION}/{limit} (allow_missing creates it)",
                    field=NAME_FIELD,
                )
            stored = {n: getattr(row, n) if row is not None else None for n in DIMENSIONS}
            stored.update({n: getattr(values, n) for n in fields})
            if all(v is None for v in stored.values()):
                await conn.execute(delete(_TABLE).where(*where))
            elif row is None:
                await conn.execute(_TABLE.insert().values(**key, **stored, updated_at=utcnow()))
            else:
                await conn.execute(_TABLE.update().where(*where).values(**stored, updated_at=utcnow()))
        await self._snapshot.refresh()
        return (await self._views(scope, [limit]))[0]

    async def delete(self, p: Principal, name: str) -> None:
        scope, limit = await self._limit(p, name, manage=True)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(_TABLE).where(
                    _TABLE.c.scope_kind == scope.kind.value,
                    _TABLE.c.scope_id == scope.id,
                    _TABLE.c.pool == (limit is LimitId.TOTAL),
                )
            )
        if not result.rowcount:
            raise NotFound(f"nothing is stored at {scope.name}/{COLLECTION}/{limit}", field=NAME_FIELD)
        await self._snapshot.refresh()

    def _values(self, scope: Scope, limit: LimitId) -> tuple[LimitValues, LimitValues, tuple[Source | None, ...]]:
        """(own, effective, sources). A user's member limit, and a team's (its service accounts'), fall back
        to the org's per-member limit field by field; everything else is its own."""
        table = self._snapshot.value
        level = _level(scope, limit)
        own = table.get(scope.kind, scope.id, pool=limit is LimitId.TOTAL)
        inherits = limit is LimitId.MEMBER and scope.kind in (ScopeKind.USER, ScopeKind.TEAM)
        org = table.get(ScopeKind.ORG, scope.org_id) if inherits else LimitValues()
        effective = own.over(org)
        sources = tuple(
            Source(level, scope.name)
            if getattr(own, n) is not None
            else (Source(Level.MEMBER, scope.org) if getattr(org, n) is not None else None)
            for n in DIMENSIONS
        )
        return own, effective, sources

    async def _views(self, scope: Scope, limits: list[LimitId]) -> list[RateLimitView]:
        keys = [_window_key(scope, limit) for limit in limits]
        states = iter(await self._limiter.usage([k for k in keys if k is not None]))
        views = []
        for limit, key in zip(limits, keys, strict=True):
            own, effective, (rpm, input_tpm, output_tpm) = self._values(scope, limit)
            name = f"{scope.name}/{COLLECTION}/{limit}"
            usage = next(states) if key is not None else None
            views.append(RateLimitView(name, _level(scope, limit), own, effective, (rpm, input_tpm, output_tpm), usage))
        return views
