"""UsageReporting: the usage reads behind UsageService, authorized by the caller's role (core.usage.visibility)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.types import utcnow
from core.governance.access.scope import Scope, ScopeRef, resolve_scope
from core.settings import Settings
from core.usage.export import export_records
from core.usage.report import UsageQuery, UsageReport, run_report
from core.usage.visibility import usage_filter

# A report without `since` covers this much time before `until`.
DEFAULT_RANGE = timedelta(days=1)


def is_empty(ref: ScopeRef) -> bool:
    return not (ref.org.strip() or ref.team.strip() or ref.user.strip() or ref.token_id.strip())


class UsageReporting:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    async def _scope(self, ref: ScopeRef) -> Scope | None:
        if is_empty(ref):
            return None
        async with self._engine.connect() as conn:
            return await resolve_scope(conn, ref)

    @staticmethod
    def default_range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
        until = until or utcnow()
        return since or until - DEFAULT_RANGE, until

    async def report(self, p: Principal, ref: ScopeRef, query: UsageQuery) -> UsageReport:
        f = usage_filter(p, await self._scope(ref))
        horizon = utcnow() - timedelta(days=self._settings.usage_minute_rollup_retention_days)
        async with self._engine.connect() as conn:
            return await run_report(conn, query, f, horizon)

    async def export(
        self, p: Principal, ref: ScopeRef, since: datetime, until: datetime
    ) -> AsyncIterator[list[dict[str, Any]]]:
        f = usage_filter(p, await self._scope(ref))
        async for batch in export_records(self._engine, since, until, f, self._settings.usage_export_batch_size):
            yield batch
