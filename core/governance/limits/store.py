"""The rate-limit rows, as one in-memory table per replica (core.governance.limits.snapshot keeps it fresh)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.tables import RateLimitRow
from core.governance.limits.model import NO_LIMITS, LimitValues, ScopeKind

ScopeKey = tuple[ScopeKind, str, bool]  # (kind, id, pool)


@dataclass(frozen=True, slots=True)
class LimitTable:
    rows: Mapping[ScopeKey, LimitValues] = field(default_factory=dict)

    def get(self, kind: ScopeKind, scope_id: str | None, *, pool: bool = False) -> LimitValues:
        if scope_id is None:
            return NO_LIMITS
        return self.rows.get((kind, scope_id, pool), NO_LIMITS)


async def load_limit_table(engine: AsyncEngine) -> LimitTable:
    stmt = select(RateLimitRow.metadata.tables["rate_limits"])
    async with engine.connect() as conn:
        result = await conn.execute(stmt)
        rows = {
            (ScopeKind(r.scope_kind), r.scope_id, bool(r.pool)): LimitValues(r.rpm, r.input_tpm, r.output_tpm)
            for r in result
        }
    return LimitTable(rows)
