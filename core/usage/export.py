"""Raw usage records for export, streamed in keyset-paginated batches (one short query each, ordered by id),
so an export of millions of rows neither holds a transaction open nor loads everything at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import InvalidRequest
from core.usage.retention import RECORDS_TABLE
from core.usage.visibility import UsageFilter, condition

EXPORT_COLUMNS = tuple(c.name for c in RECORDS_TABLE.columns)


async def export_records(
    engine: AsyncEngine, since: datetime, until: datetime, f: UsageFilter, batch_size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Batches of usage_records rows (dicts) created in [since, until), oldest id first."""
    if since >= until:
        raise InvalidRequest("since must be before until", field="since")
    table = RECORDS_TABLE
    after = 0
    while True:
        stmt = (
            select(table)
            .where(
                table.c.id > after,
                table.c.created_at >= since,
                table.c.created_at < until,
                condition(table, f),
            )
            .order_by(table.c.id)
            .limit(max(1, batch_size))
        )
        async with engine.connect() as conn:
            rows = [dict(row._mapping) for row in await conn.execute(stmt)]
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        after = rows[-1]["id"]
