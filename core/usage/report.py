"""Usage reports from the rollups: totals, an optional time series and optional groups, for any range.

A range is read from the hour rollups for its whole hours and from the minute rollups for the unaligned
ends (or for minute buckets), so a report over months reads a few thousand rows, never the raw table. Range
ends are taken at minute resolution. p95 latency comes from the rollups' histograms (core.usage.histogram)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import InvalidRequest
from core.usage.histogram import BUCKET_COUNT, percentile
from core.usage.histogram import COLUMNS as LATENCY_COLUMNS
from core.usage.rollups import HOUR_TABLE, MINUTE_TABLE, hour_start, minute_start
from core.usage.visibility import UsageFilter, condition

P95 = 0.95
# A report's totals and series come in every page; a minute series over a year would not fit, so ask for a
# larger bucket.
MAX_SERIES_BUCKETS = 20_000
# Groups per page: the default and the most (AIP-158), and the bytes a page's groups may take (about, and
# over-estimated; the series and totals take at most ~1 MiB more), below gRPC's 4 MB default receive limit.
DEFAULT_PAGE_SIZE = 5_000
MAX_PAGE_SIZE = 10_000
PAGE_BYTES = 5 << 19  # 2.5 MiB
# Wire-size estimates: a group's fixed part (stats, tags, label allowance for ids) and one series point.
_GROUP_BYTES = 400
_POINT_BYTES = 64


class GroupBy(enum.StrEnum):
    TOKEN = "token"
    USER = "user"
    USER_ID = "user_id"
    MODEL = "model"
    ORG = "org"
    ENDPOINT = "endpoint"
    STATUS = "status"
    MCP_SERVER = "mcp_server"
    MCP_METHOD = "mcp_method"
    TOOL = "tool"


class Bucket(enum.StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


GROUP_COLUMNS: dict[GroupBy, tuple[str, ...]] = {
    GroupBy.TOKEN: ("token_id",),
    GroupBy.USER: ("user_id",),
    GroupBy.USER_ID: ("end_user_id",),
    GroupBy.MODEL: ("model",),
    GroupBy.ORG: ("org_id",),
    GroupBy.ENDPOINT: ("endpoint_method", "endpoint_path"),
    GroupBy.STATUS: ("status",),
    GroupBy.MCP_SERVER: ("mcp_server",),
    GroupBy.MCP_METHOD: ("mcp_method",),
    GroupBy.TOOL: ("mcp_name",),
}
BUCKET_SIZES = {Bucket.MINUTE: timedelta(minutes=1), Bucket.HOUR: timedelta(hours=1), Bucket.DAY: timedelta(days=1)}


def bucket_start(moment: datetime, bucket: Bucket) -> datetime:
    if bucket is Bucket.MINUTE:
        return minute_start(moment)
    if bucket is Bucket.HOUR:
        return hour_start(moment)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class UsageStats:
    requests: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    avg_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    characters: int = 0
    images: int = 0
    audio_seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class _Acc:
    __slots__ = ("audio_seconds", "characters", "failed", "hist", "images", "input", "latency", "output", "requests")

    def __init__(self) -> None:
        self.requests = self.failed = self.input = self.output = self.characters = self.images = 0
        self.latency = self.audio_seconds = 0.0
        self.hist = [0] * BUCKET_COUNT

    def add(self, row: Any) -> None:
        self.requests += int(row.requests or 0)
        self.failed += int(row.failed or 0)
        self.input += int(row.input_tokens or 0)
        self.output += int(row.output_tokens or 0)
        self.latency += float(row.latency_ms_sum or 0.0)
        self.characters += int(row.characters or 0)
        self.images += int(row.images or 0)
        self.audio_seconds += float(row.audio_seconds or 0.0)
        for i, name in enumerate(LATENCY_COLUMNS):
            self.hist[i] += int(getattr(row, name) or 0)

    def stats(self) -> UsageStats:
        avg = self.latency / self.requests if self.requests else None
        return UsageStats(
            self.requests,
            self.failed,
            self.input,
            self.output,
            avg,
            percentile(self.hist, P95),
            self.characters,
            self.images,
            self.audio_seconds,
        )


@dataclass(frozen=True, slots=True)
class UsagePoint:
    start: datetime
    stats: UsageStats


@dataclass(frozen=True, slots=True)
class UsageGroup:
    key: str
    label: str
    stats: UsageStats
    series: list[UsagePoint] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UsageQuery:
    since: datetime
    until: datetime
    group_by: GroupBy | None = None
    bucket: Bucket | None = None
    offset: int = 0  # the first group of the page
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class UsageReport:
    since: datetime
    until: datetime
    totals: UsageStats
    series: list[UsagePoint]
    groups: list[UsageGroup]  # one page of them
    next_offset: int | None = None  # where the next page starts, when more groups follow


Segment = tuple[Table, datetime, datetime]


def plan_segments(query: UsageQuery, minute_horizon: datetime) -> list[Segment]:
    """Which rollup table answers which part of [since, until). Minute rows older than `minute_horizon`
    are purged, so an end before it is widened to its whole hour."""
    since, until = minute_start(query.since), query.until
    if query.bucket is Bucket.MINUTE:
        return [(MINUTE_TABLE, since, until)]
    first_hour = hour_start(since) if since == hour_start(since) else hour_start(since) + timedelta(hours=1)
    last_hour = hour_start(until)
    if first_hour >= last_hour:
        if since < minute_horizon:
            return [(HOUR_TABLE, hour_start(since), until)]
        return [(MINUTE_TABLE, since, until)]
    segments: list[Segment] = []
    if since < first_hour:
        segments.append(
            (HOUR_TABLE, hour_start(since), first_hour) if since < minute_horizon else (MINUTE_TABLE, since, first_hour)
        )
    segments.append((HOUR_TABLE, first_hour, last_hour))
    if last_hour < until:
        segments.append((MINUTE_TABLE, last_hour, until))
    return segments


def _validate(query: UsageQuery) -> None:
    if query.since >= query.until:
        raise InvalidRequest("since must be before until", field="since")
    if query.bucket is not None:
        buckets = (query.until - query.since) / BUCKET_SIZES[query.bucket]
        if buckets > MAX_SERIES_BUCKETS:
            raise InvalidRequest(
                f"{int(buckets)} {query.bucket.value} buckets are too many (at most {MAX_SERIES_BUCKETS}); "
                "use a larger bucket or a shorter range",
                field="bucket",
            )


async def _rows(conn: AsyncConnection, segment: Segment, query: UsageQuery, f: UsageFilter) -> Sequence[Any]:
    table, start, end = segment
    keys = [table.c[name] for name in GROUP_COLUMNS[query.group_by]] if query.group_by else []
    if query.bucket is not None:
        keys.insert(0, table.c.bucket_start)
    summed = ("requests", "failed", "input_tokens", "output_tokens", "characters", "images", "audio_seconds")
    sums = [func.sum(table.c[name]).label(name) for name in summed]
    sums.append(func.sum(table.c.latency_ms_sum).label("latency_ms_sum"))
    sums.extend(func.sum(table.c[name]).label(name) for name in LATENCY_COLUMNS)
    stmt = (
        select(*keys, *sums)
        .where(table.c.bucket_start >= start, table.c.bucket_start < end, condition(table, f))
        .group_by(*keys)
    )
    return (await conn.execute(stmt)).all()


def _group_key(row: Any, group_by: GroupBy) -> str:
    values = [str(getattr(row, name)) for name in GROUP_COLUMNS[group_by]]
    return " ".join(values)


def _page(query: UsageQuery, ordered: list[tuple[str, _Acc]], rows_per_key: dict[str, int]) -> int:
    """Where the page starting at query.offset ends: page_size groups, or fewer when they would pass
    PAGE_BYTES (always at least one, so every page makes progress). A group's series has at most as many
    points as it has rows."""
    end, size = query.offset, 0
    limit = min(len(ordered), query.offset + max(1, query.page_size))
    while end < limit:
        key = ordered[end][0]
        size += _GROUP_BYTES + 2 * len(key.encode()) + _POINT_BYTES * rows_per_key.get(key, 0)
        if size > PAGE_BYTES and end > query.offset:
            break
        end += 1
    return end


async def run_report(conn: AsyncConnection, query: UsageQuery, f: UsageFilter, minute_horizon: datetime) -> UsageReport:
    _validate(query)
    totals = _Acc()
    series: dict[datetime, _Acc] = {}
    groups: dict[str, _Acc] = {}
    # Group series are built for the page's groups only (a report may have tens of thousands of groups).
    grouped_rows: list[tuple[str, datetime, Any]] = []
    rows_per_key: dict[str, int] = {}
    for segment in plan_segments(query, minute_horizon):
        for row in await _rows(conn, segment, query, f):
            totals.add(row)
            point = bucket_start(row.bucket_start, query.bucket) if query.bucket is not None else None
            if point is not None:
                series.setdefault(point, _Acc()).add(row)
            if query.group_by is not None:
                key = _group_key(row, query.group_by)
                groups.setdefault(key, _Acc()).add(row)
                if point is not None:
                    grouped_rows.append((key, point, row))
                    rows_per_key[key] = rows_per_key.get(key, 0) + 1
    ordered = sorted(groups.items(), key=lambda item: (-item[1].requests, item[0]))
    end = _page(query, ordered, rows_per_key)
    page = ordered[query.offset : end]
    group_series: dict[str, dict[datetime, _Acc]] = {key: {} for key, _ in page}
    for key, point, row in grouped_rows:
        if key in group_series:
            group_series[key].setdefault(point, _Acc()).add(row)
    labels = await group_labels(conn, query.group_by, [key for key, _ in page]) if query.group_by else {}
    return UsageReport(
        since=minute_start(query.since),
        until=query.until,
        totals=totals.stats(),
        series=[UsagePoint(t, acc.stats()) for t, acc in sorted(series.items())],
        groups=[
            UsageGroup(
                key,
                labels.get(key, key),
                acc.stats(),
                [UsagePoint(t, a.stats()) for t, a in sorted(group_series[key].items())],
            )
            for key, acc in page
        ],
        next_offset=end if end < len(ordered) else None,
    )


async def group_labels(conn: AsyncConnection, group_by: GroupBy, keys: list[str]) -> dict[str, str]:
    """Readable names for id groups: token name, user email, org name (ids of deleted ones stay ids)."""
    from core.db.tables import ApiTokenRow, OrgRow, UserRow

    ids = [k for k in keys if k]
    if not ids:
        return {"": "(none)"} if "" in keys else {}
    tables: dict[GroupBy, tuple[Table, str]] = {
        GroupBy.TOKEN: (ApiTokenRow.metadata.tables["api_tokens"], "name"),
        GroupBy.USER: (UserRow.metadata.tables["users"], "email"),
        GroupBy.ORG: (OrgRow.metadata.tables["orgs"], "name"),
    }
    labels = {"": "(none)"}
    if group_by in tables:
        table, column = tables[group_by]
        result = await conn.execute(select(table.c.id, table.c[column]).where(table.c.id.in_(ids)))
        labels.update({row[0]: str(row[1]) for row in result})
    return labels
