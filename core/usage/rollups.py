"""Rollups: usage records summed per minute and per hour, per combination of the dimensions reports filter
and group by. Written by the usage writer in the same transaction as the raw rows (`write_rollups`), as
upserts that add to what is there, so any number of replicas may write the same bucket.

Each batch is aggregated in memory first (one upsert row per bucket and combination) and written in key
order, so concurrent writers lock rows in the same order and cannot deadlock each other."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.tables import UsageRollupHourRow, UsageRollupMinuteRow
from core.usage.histogram import COLUMNS as LATENCY_COLUMNS
from core.usage.histogram import bucket_of

MINUTE_TABLE: Table = UsageRollupMinuteRow.metadata.tables["usage_rollups_minute"]
HOUR_TABLE: Table = UsageRollupHourRow.metadata.tables["usage_rollups_hour"]

# The dimensions of a rollup row, in the order they are hashed. NULLs are stored as '' (see the table).
STRING_DIMENSIONS = (
    "token_id",
    "user_id",
    "org_id",
    "team_id",
    "service_account_id",
    "end_user_id",
    "model",
    "endpoint_method",
    "endpoint_path",
)
# MCP dimensions: hashed only when one is set, so the digests of every other row stay what they were.
MCP_DIMENSIONS = ("mcp_server", "mcp_method", "mcp_name")
SUM_COLUMNS = (
    "requests",
    "failed",
    "input_tokens",
    "output_tokens",
    "latency_ms_sum",
    "characters",
    "images",
    "audio_seconds",
    *LATENCY_COLUMNS,
)
FAILED_FROM_STATUS = 400


def minute_start(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def dims_hash(dims: Sequence[str | int]) -> str:
    text = "\x1f".join(str(d) for d in dims)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def aggregate(rows: Iterable[Mapping[str, Any]], buckets: Sequence[Any]) -> list[list[dict[str, Any]]]:
    """Per bucket function (minute, hour), one upsert row per (bucket, dimensions) of the raw rows
    (usage_records dicts), sorted by key. Each distinct combination of dimensions is hashed once per batch."""
    accs: list[dict[tuple[datetime, str], dict[str, Any]]] = [{} for _ in buckets]
    digests: dict[tuple[Any, ...], str] = {}
    for row in rows:
        status = int(row["status"])
        key: tuple[Any, ...] = (*(row.get(name) or "" for name in STRING_DIMENSIONS), status)
        mcp = tuple(row.get(name) or "" for name in MCP_DIMENSIONS)
        if any(mcp):
            key = (*key, *mcp)
        digest = digests.get(key)
        if digest is None:
            digest = digests[key] = dims_hash(key)
        latency = float(row["latency_ms"])
        latency_column = LATENCY_COLUMNS[bucket_of(latency)]
        for acc, bucket in zip(accs, buckets, strict=True):
            start = bucket(row["created_at"])
            target = acc.get((start, digest))
            if target is None:
                target = {"bucket_start": start, "dims_hash": digest, "status": status}
                target.update(zip(STRING_DIMENSIONS, key, strict=False))
                target.update(zip(MCP_DIMENSIONS, mcp, strict=True))
                target.update(dict.fromkeys(SUM_COLUMNS, 0))
                target["latency_ms_sum"] = target["audio_seconds"] = 0.0
                acc[(start, digest)] = target
            target["requests"] += 1
            target["failed"] += 1 if status >= FAILED_FROM_STATUS else 0
            target["input_tokens"] += int(row["input_tokens"])
            target["output_tokens"] += int(row["output_tokens"])
            target["latency_ms_sum"] += latency
            target["characters"] += row.get("characters") or 0
            target["images"] += row.get("images") or 0
            target["audio_seconds"] += row.get("audio_seconds") or 0.0
            target[latency_column] += 1
    return [[acc[k] for k in sorted(acc)] for acc in accs]


@functools.cache
def _upsert(table: Table, dialect: str) -> Any:
    """Built once per table and dialect: building the expression (and its cache key) per batch cost more than
    the write itself."""
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    return insert.on_conflict_do_update(
        index_elements=["bucket_start", "dims_hash"],
        set_={name: table.c[name] + insert.excluded[name] for name in SUM_COLUMNS},
    )


async def write_rollups(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Adds the raw rows to the minute and hour rollups inside the caller's transaction."""
    if not rows:
        return
    dialect = conn.dialect.name
    minutes, hours = aggregate(rows, (minute_start, hour_start))
    for table, upserts in ((MINUTE_TABLE, minutes), (HOUR_TABLE, hours)):
        await conn.execute(_upsert(table, dialect), upserts)
