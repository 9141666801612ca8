"""Raw usage records for export, streamed in keyset-paginated batches (one short query each, ordered by id),
so an export of millions of rows neither holds a transaction open nor loads everything at once.

Batches are sized by bytes as well as by rows: a gRPC message must stay below the client's receive limit (4 MB
by default) whatever the rows hold. Text is read cut to the lengths the recorder stores today, so rows written
before those caps (a 50 MB upstream error) export like new ones."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import InvalidRequest
from core.usage.recorder import MAX_TEXT_LENGTHS
from core.usage.retention import RECORDS_TABLE
from core.usage.visibility import UsageFilter, condition

EXPORT_COLUMNS = tuple(c.name for c in RECORDS_TABLE.columns)
# Bytes of record text per batch (about; the numbers add ~100 bytes per record), a quarter of gRPC's default
# 4 MB receive limit.
BATCH_BYTES = 1 << 20
_RECORD_BYTES = 100


def _columns() -> list[ColumnElement[Any]]:
    table = RECORDS_TABLE
    return [
        func.substr(c, 1, MAX_TEXT_LENGTHS[c.name]).label(c.name) if c.name in MAX_TEXT_LENGTHS else c
        for c in table.columns
    ]


def _record_bytes(row: dict[str, Any]) -> int:
    return _RECORD_BYTES + sum(len(v.encode()) for v in row.values() if isinstance(v, str))


def split_by_bytes(rows: list[dict[str, Any]], limit: int = BATCH_BYTES) -> Iterator[list[dict[str, Any]]]:
    """Consecutive runs of rows of at most `limit` bytes each (a longer row alone)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        row_size = _record_bytes(row)
        if batch and size + row_size > limit:
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += row_size
    if batch:
        yield batch


async def export_records(
    engine: AsyncEngine, since: datetime, until: datetime, f: UsageFilter, batch_size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Batches of usage_records rows (dicts) created in [since, until), oldest id first."""
    if since >= until:
        raise InvalidRequest("since must be before until", field="since")
    table = RECORDS_TABLE
    columns = _columns()
    after = 0
    while True:
        stmt = (
            select(*columns)
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
        for batch in split_by_bytes(rows):
            yield batch
        if len(rows) < batch_size:
            return
        after = rows[-1]["id"]
