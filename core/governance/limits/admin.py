"""Setting, clearing and showing rate limits (the `aqueduct limits` verbs). Writes go to the database and
reload this replica's copy at once; other replicas follow within governance_cache_ttl_seconds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.tables import RateLimitRow
from core.db.types import utcnow
from core.errors import InvalidRequest, NotFound
from core.governance.access.scope import Scope, ScopeRef, require_manage, require_read, resolve_scope
from core.governance.limits.backend import KeyState
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.model import REQUEST_UNITS, Level, LimitValues, ScopeKind
from core.governance.limits.snapshot import RefreshingSnapshot
from core.governance.limits.store import LimitTable

_TABLE = RateLimitRow.metadata.tables["rate_limits"]
# Postgres INTEGER; a larger limit is a typo, not a plan.
MAX_LIMIT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class LimitEntry:
    """One limit that applies at the scope, with where each dimension's value comes from and (for windows
    this scope owns) what the current window holds."""

    level: Level
    subject: str
    pool: bool
    limits: LimitValues
    sources: tuple[str, str, str]  # rpm, input_tpm, output_tpm; "" when not limited
    usage: KeyState | None  # None: counted per member, no single window

    @property
    def used_requests(self) -> float:
        return self.usage.used[0] / REQUEST_UNITS if self.usage is not None else 0.0


@dataclass(frozen=True, slots=True)
class LimitsView:
    scope: str
    entries: list[LimitEntry]


def _check_values(values: LimitValues) -> None:
    for name, value in (("rpm", values.rpm), ("input_tpm", values.input_tpm), ("output_tpm", values.output_tpm)):
        if value is not None and not 0 <= value <= MAX_LIMIT:
            raise InvalidRequest(f"{name} must be between 0 and {MAX_LIMIT}", field=name)


def _sources(values: LimitValues, source: str) -> tuple[str, str, str]:
    return tuple(source if v is not None else "" for v in (values.rpm, values.input_tpm, values.output_tpm))  # type: ignore[return-value]


class LimitsAdmin:
    def __init__(self, engine: AsyncEngine, snapshot: RefreshingSnapshot[LimitTable], limiter: FailoverLimiter):
        self._engine = engine
        self._snapshot = snapshot
        self._limiter = limiter

    async def _scope(self, ref: ScopeRef) -> Scope:
        async with self._engine.connect() as conn:
            return await resolve_scope(conn, ref)

    async def set_limits(self, p: Principal, ref: ScopeRef, *, pool: bool, values: LimitValues) -> LimitsView:
        """Sets the given dimensions (others keep their value). `pool` (org/team only) sets the total of all
        traffic; without it an org or team limit is the per-member limit."""
        if values.is_empty():
            raise InvalidRequest("give at least one of rpm, input_tpm, output_tpm", field="rpm")
        _check_values(values)
        scope = await self._scope(ref)
        require_manage(p, scope)
        if pool and scope.kind not in (ScopeKind.ORG, ScopeKind.TEAM):
            raise InvalidRequest("--total (a pool) applies to an org or a team only", field="pool")
        key = {"scope_kind": scope.kind.value, "scope_id": scope.id, "pool": pool}
        async with self._engine.begin() as conn:
            where = [_TABLE.c[k] == v for k, v in key.items()]
            row = (await conn.execute(select(_TABLE).where(*where).with_for_update())).first()
            merged = values.over(LimitValues(row.rpm, row.input_tpm, row.output_tpm) if row else LimitValues())
            fields = {"rpm": merged.rpm, "input_tpm": merged.input_tpm, "output_tpm": merged.output_tpm}
            if row is None:
                await conn.execute(_TABLE.insert().values(**key, **fields, updated_at=utcnow()))
            else:
                await conn.execute(_TABLE.update().where(*where).values(**fields, updated_at=utcnow()))
        await self._snapshot.refresh()
        return await self._view(scope)

    async def clear_limits(self, p: Principal, ref: ScopeRef, *, pool: bool) -> None:
        scope = await self._scope(ref)
        require_manage(p, scope)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(_TABLE).where(
                    _TABLE.c.scope_kind == scope.kind.value, _TABLE.c.scope_id == scope.id, _TABLE.c.pool == pool
                )
            )
        if not result.rowcount:
            what = "total" if pool else "limit"
            raise NotFound(f"{scope.label} has no {what} set", field="scope")
        await self._snapshot.refresh()

    async def show_limits(self, p: Principal, ref: ScopeRef) -> LimitsView:
        scope = await self._scope(ref)
        require_read(p, scope)
        return await self._view(scope)

    async def _view(self, scope: Scope) -> LimitsView:
        table = self._snapshot.value
        entries: list[tuple[Level, str, bool, LimitValues, tuple[str, str, str], str | None]] = []
        org_member = table.get(ScopeKind.ORG, scope.org_id)
        org_source = f"org {scope.org_name}'s per-member limit"
        if scope.kind in (ScopeKind.ORG, ScopeKind.TEAM):
            kind_word = "org" if scope.kind is ScopeKind.ORG else "team"
            member = table.get(scope.kind, scope.id)
            entries.append(
                (Level.MEMBER, f"each member of {scope.label}", False, member, _sources(member, scope.label), None)
            )
            pool = table.get(scope.kind, scope.id, pool=True)
            pool_key = f"o:{scope.id}" if scope.kind is ScopeKind.ORG else f"tm:{scope.id}"
            level = Level.ORG_POOL if scope.kind is ScopeKind.ORG else Level.TEAM_POOL
            entries.append((level, f"all of {scope.label}", True, pool, _sources(pool, f"{kind_word} total"), pool_key))
        if scope.kind is ScopeKind.USER:
            own = table.get(ScopeKind.USER, scope.id)
            values = own.over(org_member)
            sources = tuple(
                f"{scope.label}'s own limit" if o is not None else (org_source if f is not None else "")
                for o, f in zip(
                    (own.rpm, own.input_tpm, own.output_tpm),
                    (values.rpm, values.input_tpm, values.output_tpm),
                    strict=True,
                )
            )
            entries.append((Level.MEMBER, scope.label, False, values, sources, f"m:u:{scope.id}"))  # type: ignore[arg-type]
        if scope.kind is ScopeKind.TOKEN:
            own = table.get(ScopeKind.TOKEN, scope.id)
            entries.append(
                (Level.TOKEN, scope.label, False, own, _sources(own, "the token's own limit"), f"t:{scope.id}")
            )
        keys = [key for *_, key in entries if key is not None]
        states = iter(await self._limiter.usage(keys))
        return LimitsView(
            scope.label,
            [
                LimitEntry(level, subject, pool, values, sources, next(states) if key is not None else None)
                for level, subject, pool, values, sources, key in entries
            ],
        )
