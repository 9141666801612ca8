"""UsageReporting: the usage reads behind UsageService, authorized by the caller's role (core.usage.visibility)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.types import utcnow
from core.governance.access.scope import Scope, resolve_scope
from core.settings import Settings
from core.usage.export import export_records
from core.usage.report import UsageQuery, UsageReport, run_report
from core.usage.visibility import SCOPE_FIELD, usage_filter

# A report without `since` covers this much time before `until`.
DEFAULT_RANGE = timedelta(days=1)


class UsageReporting:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    async def _scope(self, name: str) -> Scope | None:
        """The scope a report is narrowed to; None (everything the caller may see) for an empty name."""
        if not name.strip():
            return None
        async with self._engine.connect() as conn:
            return await resolve_scope(conn, name, SCOPE_FIELD)

    @staticmethod
    def default_range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
        until = until or utcnow()
        return since or until - DEFAULT_RANGE, until

    async def report(self, p: Principal, scope: str, query: UsageQuery) -> UsageReport:
        f = usage_filter(p, await self._scope(scope))
        horizon = utcnow() - timedelta(days=self._settings.usage_minute_rollup_retention_days)
        async with self._engine.connect() as conn:
            return await run_report(conn, query, f, horizon)

    async def export(
        self, p: Principal, scope: str, since: datetime, until: datetime
    ) -> AsyncIterator[list[dict[str, Any]]]:
        f = usage_filter(p, await self._scope(scope))
        async for batch in export_records(self._engine, since, until, f, self._settings.usage_export_batch_size):
            yield batch
