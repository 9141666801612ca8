"""UsageReporting: the usage reads behind UsageService, authorized by the caller's role (core.usage.visibility)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.types import utcnow
from core.errors import InvalidRequest
from core.governance.access.scope import Scope, resolve_scope
from core.settings import Settings
from core.usage import page_token
from core.usage.export import export_records
from core.usage.report import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, UsageQuery, UsageReport, run_report
from core.usage.visibility import SCOPE_FIELD, usage_filter

# A report without `since` covers this much time before `until`.
DEFAULT_RANGE = timedelta(days=1)


def page_size(requested: int) -> int:
    """0: the default; larger than the most: the most (AIP-158)."""
    if requested < 0:
        raise InvalidRequest("page_size must not be negative", field="page_size")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


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

    async def report(
        self, p: Principal, scope: str, query: UsageQuery, *, include_end_user: bool = False, token: str = ""
    ) -> tuple[UsageReport, UsageReport | None, str]:
        """One page of the caller's report, the report of the records naming the user (include_end_user;
        totals only) and the next page's token ("" on the last page)."""
        f = usage_filter(p, await self._scope(scope), include_end_user=include_end_user)
        parameters = (scope.strip(), query.group_by, query.bucket, include_end_user)
        if token:
            page = page_token.decode(token, parameters)
            query = replace(query, since=page.since, until=page.until, offset=page.offset)
        horizon = utcnow() - timedelta(days=self._settings.usage_minute_rollup_retention_days)
        async with self._engine.connect() as conn:
            report = await run_report(conn, query, f.own(), horizon)
            named = None
            if f.end_user is not None:
                totals_only = replace(query, group_by=None, bucket=None, offset=0)
                named = await run_report(conn, totals_only, f.named(), horizon)
        next_token = ""
        if report.next_offset is not None:
            next_page = page_token.ReportPage(report.next_offset, query.since, query.until)
            next_token = page_token.encode(next_page, parameters)
        return report, named, next_token

    async def export(
        self, p: Principal, scope: str, since: datetime, until: datetime, *, include_end_user: bool = False
    ) -> AsyncIterator[list[dict[str, Any]]]:
        f = usage_filter(p, await self._scope(scope), include_end_user=include_end_user)
        async for batch in export_records(self._engine, since, until, f, self._settings.usage_export_batch_size):
            yield batch
