"""UsageService servicer: proto in, UsageReporting call with the current principal, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
from aqueduct.v1 import usage_pb2, usage_service_pb2, usage_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from core.auth.principal import current_principal
from core.usage.report import Bucket, GroupBy, UsageGroup, UsagePoint, UsageQuery, UsageStats
from core.usage.reporting import UsageReporting, page_size

Context = grpc.aio.ServicerContext[Any, Any]

_GROUP_BY = {
    usage_pb2.USAGE_GROUP_BY_TOKEN: GroupBy.TOKEN,
    usage_pb2.USAGE_GROUP_BY_USER: GroupBy.USER,
    usage_pb2.USAGE_GROUP_BY_USER_ID: GroupBy.USER_ID,
    usage_pb2.USAGE_GROUP_BY_MODEL: GroupBy.MODEL,
    usage_pb2.USAGE_GROUP_BY_ORG: GroupBy.ORG,
    usage_pb2.USAGE_GROUP_BY_ENDPOINT: GroupBy.ENDPOINT,
    usage_pb2.USAGE_GROUP_BY_STATUS: GroupBy.STATUS,
    usage_pb2.USAGE_GROUP_BY_MCP_SERVER: GroupBy.MCP_SERVER,
    usage_pb2.USAGE_GROUP_BY_MCP_METHOD: GroupBy.MCP_METHOD,
    usage_pb2.USAGE_GROUP_BY_TOOL: GroupBy.TOOL,
}
_BUCKETS = {
    usage_pb2.USAGE_BUCKET_MINUTE: Bucket.MINUTE,
    usage_pb2.USAGE_BUCKET_HOUR: Bucket.HOUR,
    usage_pb2.USAGE_BUCKET_DAY: Bucket.DAY,
}


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _time(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    value: datetime = getattr(message, field).ToDatetime(tzinfo=UTC)
    return value


def _stats(stats: UsageStats) -> usage_pb2.UsageStats:
    message = usage_pb2.UsageStats(
        requests=stats.requests,
        failed_requests=stats.failed,
        input_tokens=stats.input_tokens,
        output_tokens=stats.output_tokens,
        total_tokens=stats.total_tokens,
        characters=stats.characters,
        images=stats.images,
        audio_seconds=stats.audio_seconds,
    )
    if stats.avg_latency_ms is not None:
        message.avg_latency_ms = stats.avg_latency_ms
    if stats.p95_latency_ms is not None:
        message.p95_latency_ms = stats.p95_latency_ms
    return message


def _points(points: list[UsagePoint]) -> list[usage_pb2.UsagePoint]:
    return [usage_pb2.UsagePoint(start_time=_ts(p.start), stats=_stats(p.stats)) for p in points]


def _group(group: UsageGroup) -> usage_pb2.UsageGroup:
    return usage_pb2.UsageGroup(
        key=group.key, label=group.label, stats=_stats(group.stats), series=_points(group.series)
    )


def usage_record(row: dict[str, Any]) -> usage_pb2.UsageRecord:
    record = usage_pb2.UsageRecord(
        id=row["id"],
        request_id=row["request_id"],
        create_time=_ts(row["created_at"]),
        status=row["status"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        tokens_estimated=bool(row["tokens_estimated"]),
        latency_ms=row["latency_ms"],
    )
    for name in (
        "token_id",
        "user_id",
        "org_id",
        "team_id",
        "service_account_id",
        "end_user_id",
        "model",
        "deployment",
        "endpoint_method",
        "endpoint_path",
        "user_agent",
        "client_addr",
        "error_message",
    ):
        if row.get(name) is not None:
            setattr(record, name, row[name])
    for name in ("characters", "images", "audio_seconds"):
        if row.get(name) is not None:
            setattr(record, name, row[name])
    if row.get("ttft_ms") is not None:
        record.ttft_ms = row["ttft_ms"]
    return record


class UsageServicer(usage_service_pb2_grpc.UsageServiceServicer):
    def __init__(self, reporting: UsageReporting) -> None:
        self._reporting = reporting

    async def GetUsageReport(
        self, request: usage_service_pb2.GetUsageReportRequest, context: Context
    ) -> usage_service_pb2.GetUsageReportResponse:
        since, until = UsageReporting.default_range(_time(request, "start_time"), _time(request, "end_time"))
        query = UsageQuery(
            since=since,
            until=until,
            group_by=_GROUP_BY.get(request.group_by),
            bucket=_BUCKETS.get(request.bucket),
            page_size=page_size(request.page_size),
        )
        report, named, next_token = await self._reporting.report(
            current_principal(),
            request.scope,
            query,
            include_end_user=request.include_end_user,
            token=request.page_token,
        )
        response = usage_service_pb2.GetUsageReportResponse(
            start_time=_ts(report.since),
            end_time=_ts(report.until),
            totals=_stats(report.totals),
            series=_points(report.series),
            groups=[_group(g) for g in report.groups],
            next_page_token=next_token,
        )
        if named is not None:
            response.end_user_totals.CopyFrom(_stats(named.totals))
        return response

    async def ExportUsageRecords(
        self, request: usage_service_pb2.ExportUsageRecordsRequest, context: Context
    ) -> AsyncIterator[usage_service_pb2.ExportUsageRecordsResponse]:
        since, until = UsageReporting.default_range(_time(request, "start_time"), _time(request, "end_time"))
        batches = self._reporting.export(
            current_principal(), request.scope, since, until, include_end_user=request.include_end_user
        )
        async for batch in batches:
            yield usage_service_pb2.ExportUsageRecordsResponse(records=[usage_record(row) for row in batch])
