"""`aqueduct usage [scope] [--since] [--until] [--group-by] [--bucket] [--include-end-user] [--json]` and
`aqueduct usage export --format csv|jsonl`: usage reports from the rollups (every page of groups), raw records
as a stream."""

from __future__ import annotations

import argparse
import csv
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from aqueduct.v1 import usage_pb2, usage_service_pb2, usage_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from aqueduct_client.cli._command import SubParsers
from aqueduct_client.cli._connection import add_connection_arguments
from aqueduct_client.cli._output import Row, print_rows, printable, terminal_json, timestamp_to_iso
from aqueduct_client.cli._scope import add_scope_arguments, scope_of
from aqueduct_client.cli._service_command import add_service_verb, service_command

STATS_COLUMNS = (
    "requests",
    "failed_requests",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "avg_latency_ms",
    "p95_latency_ms",
    "characters",
    "images",
    "audio_seconds",
)
GROUP_BY = {
    "token": usage_pb2.USAGE_GROUP_BY_TOKEN,
    "user": usage_pb2.USAGE_GROUP_BY_USER,
    "user_id": usage_pb2.USAGE_GROUP_BY_USER_ID,
    "model": usage_pb2.USAGE_GROUP_BY_MODEL,
    "org": usage_pb2.USAGE_GROUP_BY_ORG,
    "endpoint": usage_pb2.USAGE_GROUP_BY_ENDPOINT,
    "status": usage_pb2.USAGE_GROUP_BY_STATUS,
    "mcp_server": usage_pb2.USAGE_GROUP_BY_MCP_SERVER,
    "mcp_method": usage_pb2.USAGE_GROUP_BY_MCP_METHOD,
    "tool": usage_pb2.USAGE_GROUP_BY_TOOL,
}
BUCKETS = {
    "minute": usage_pb2.USAGE_BUCKET_MINUTE,
    "hour": usage_pb2.USAGE_BUCKET_HOUR,
    "day": usage_pb2.USAGE_BUCKET_DAY,
}
RECORD_COLUMNS = tuple(field.name for field in usage_pb2.UsageRecord.DESCRIPTOR.fields)
# Record fields that may be unset (None in the output rather than 0).
_OPTIONAL_RECORD_FIELDS = frozenset({"ttft_ms", "characters", "images", "audio_seconds"})
# An export streams until done; it may take far longer than one admin call (override with --timeout).
EXPORT_TIMEOUT_SECONDS = 3600.0
_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """ "1h", "30m", "1d", "2w" (that long before now) or an ISO 8601 date-time (no zone: UTC)."""
    text = text.strip()
    match = _RELATIVE.match(text)
    if match:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration (1h, 1d, 1w) or ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def _stub(channel: Any) -> Any:
    return usage_service_pb2_grpc.UsageServiceStub(channel)


def _range_arguments(parser: argparse.ArgumentParser, since_default: str) -> None:
    parser.add_argument(
        "--since",
        type=parse_moment,
        default=parse_moment(since_default),
        help=f"1h|1d|1w|ISO (default {since_default})",
    )
    parser.add_argument("--until", type=parse_moment, default=None, help="1h|1d|1w|ISO (default now)")


def register(subparsers: SubParsers) -> None:
    usage = subparsers.add_parser(
        "usage", help="usage reports and export", description="Usage: totals, groups and time series."
    )
    add_connection_arguments(usage, suppress_defaults=True)
    add_scope_arguments(usage, token=True, required=False)
    _range_arguments(usage, "1d")
    usage.add_argument("--group-by", choices=tuple(GROUP_BY), default=None, help="group the usage")
    usage.add_argument("--bucket", choices=tuple(BUCKETS), default=None, help="add a time series")
    _end_user_argument(usage)
    usage.add_argument("--json", action="store_true", help="print the report as JSON")
    usage.set_defaults(func=service_command(_stub, _report), service_handler=_report)

    verbs = usage.add_subparsers(title="commands", dest="verb", metavar="COMMAND")
    export = add_service_verb(verbs, "export", "stream raw usage records as CSV or JSON lines", _stub, _export)
    add_scope_arguments(export, token=True, required=False)
    _range_arguments(export, "1d")
    _end_user_argument(export)
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl", help="output format")


def _end_user_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include-end-user",
        action="store_true",
        help="also the requests whose user_id field is the user's email, sent by service accounts of the user's "
        "teams (the accounts' usage: reported apart, never in the user's totals)",
    )


def stats_row(stats: usage_pb2.UsageStats) -> Row:
    return {
        "requests": stats.requests,
        "failed_requests": stats.failed_requests,
        "input_tokens": stats.input_tokens,
        "output_tokens": stats.output_tokens,
        "total_tokens": stats.total_tokens,
        "avg_latency_ms": round(stats.avg_latency_ms, 1) if stats.HasField("avg_latency_ms") else None,
        "p95_latency_ms": round(stats.p95_latency_ms, 1) if stats.HasField("p95_latency_ms") else None,
        "characters": stats.characters,
        "images": stats.images,
        "audio_seconds": round(stats.audio_seconds, 3),
    }


def report_json(report: usage_service_pb2.GetUsageReportResponse) -> dict[str, Any]:
    def points(series: Any) -> list[dict[str, Any]]:
        return [{"start": timestamp_to_iso(p.start_time), **stats_row(p.stats)} for p in series]

    data: dict[str, Any] = {
        "since": timestamp_to_iso(report.start_time),
        "until": timestamp_to_iso(report.end_time),
        "totals": stats_row(report.totals),
        "series": points(report.series),
        "groups": [
            {"key": g.key, "label": g.label, **stats_row(g.stats), "series": points(g.series)} for g in report.groups
        ],
    }
    if report.HasField("end_user_totals"):
        data["end_user_totals"] = stats_row(report.end_user_totals)
    return data


def all_pages(stub: Any, request: usage_service_pb2.GetUsageReportRequest) -> usage_service_pb2.GetUsageReportResponse:
    """The report with the groups of every page (each page stays far below gRPC's message limit)."""
    report: usage_service_pb2.GetUsageReportResponse = stub.GetUsageReport(request)
    while report.next_page_token:
        request.page_token = report.next_page_token
        page = stub.GetUsageReport(request)
        report.groups.extend(page.groups)
        report.next_page_token = page.next_page_token
    return report


def _report(args: argparse.Namespace, stub: Any) -> int:
    request = usage_service_pb2.GetUsageReportRequest(
        scope=scope_of(args),
        start_time=_ts(args.since),
        group_by=GROUP_BY[args.group_by] if args.group_by else usage_pb2.USAGE_GROUP_BY_UNSPECIFIED,
        bucket=BUCKETS[args.bucket] if args.bucket else usage_pb2.USAGE_BUCKET_UNSPECIFIED,
        include_end_user=args.include_end_user,
    )
    if args.until is not None:
        request.end_time.CopyFrom(_ts(args.until))
    data = report_json(all_pages(stub, request))
    if args.json:
        print(terminal_json(data))
        return 0
    out = sys.stdout
    print(f"usage from {data['since']} to {data['until']}", file=out)
    print_rows([data["totals"]], STATS_COLUMNS, as_json=False, out=out)
    if data["groups"]:
        print(f"\nby {args.group_by}:", file=out)
        print_rows(data["groups"], ("label", *STATS_COLUMNS), as_json=False, out=out)
    series: list[Row] = (
        [{"label": g["label"], **p} for g in data["groups"] for p in g["series"]] if data["groups"] else data["series"]
    )
    if series:
        print(f"\nper {args.bucket}:", file=out)
        columns = ("label", "start", *STATS_COLUMNS) if data["groups"] else ("start", *STATS_COLUMNS)
        print_rows(series, columns, as_json=False, out=out)
    if "end_user_totals" in data:
        print(
            "\nrequests naming the user in their user_id field (service accounts' usage, not counted above):", file=out
        )
        print_rows([data["end_user_totals"]], STATS_COLUMNS, as_json=False, out=out)
    return 0


def record_row(record: usage_pb2.UsageRecord) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in RECORD_COLUMNS:
        if name == "create_time":
            row[name] = timestamp_to_iso(record.create_time)
        elif name in _OPTIONAL_RECORD_FIELDS:
            row[name] = getattr(record, name) if record.HasField(name) else None  # type: ignore[arg-type]
        else:
            row[name] = getattr(record, name)
    return row


def _export(args: argparse.Namespace, stub: Any) -> int:
    request = usage_service_pb2.ExportUsageRecordsRequest(
        scope=scope_of(args), start_time=_ts(args.since), include_end_user=args.include_end_user
    )
    if args.until is not None:
        request.end_time.CopyFrom(_ts(args.until))
    timeout = getattr(args, "timeout", None) or EXPORT_TIMEOUT_SECONDS
    out = sys.stdout
    # CSV is data for files and spreadsheets, kept exact; on a terminal its text is escaped like a table's.
    on_terminal = out.isatty()
    writer = csv.DictWriter(out, fieldnames=RECORD_COLUMNS) if args.format == "csv" else None
    if writer is not None:
        writer.writeheader()
    for batch in stub.ExportUsageRecords(request, timeout=timeout):
        for record in batch.records:
            row = record_row(record)
            if writer is not None:
                writer.writerow({k: printable(v) if on_terminal and isinstance(v, str) else v for k, v in row.items()})
            else:
                out.write(terminal_json(row, indent=None) + "\n")
        out.flush()
    return 0
