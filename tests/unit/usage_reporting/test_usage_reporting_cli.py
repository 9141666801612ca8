"""`aqueduct usage` and `usage export` against a fake UsageService stub: time parsing, requests, output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aqueduct.v1 import usage_pb2, usage_service_pb2
from aqueduct_client.cli.main import build_parser
from aqueduct_client.cli.usage import parse_moment
from google.protobuf.timestamp_pb2 import Timestamp


class FakeUsage:
    def __init__(self, report: Any = None, batches: list[Any] | None = None) -> None:
        self.report = report
        self.batches = batches or []
        self.requests: list[Any] = []

    def GetUsageReport(self, request: Any) -> Any:
        self.requests.append(request)
        return self.report

    def ExportUsageRecords(self, request: Any, timeout: float | None = None) -> Any:
        self.requests.append(request)
        return iter(self.batches)


def run(stub: FakeUsage, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    status: int = args.service_handler(args, stub)
    return status


def ts(moment: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(moment)
    return t


def test_parse_moment() -> None:
    now = datetime(2030, 1, 8, tzinfo=UTC)
    assert parse_moment("1h", now) == now - timedelta(hours=1)
    assert parse_moment("1w", now) == datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_moment("2030-01-02T03:04:05") == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_moment("2030-01-02T03:04:05+01:00").utcoffset() == timedelta(hours=1)


def test_report_request_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    stats = usage_pb2.UsageStats(requests=3, failed_requests=1, input_tokens=9, output_tokens=6, total_tokens=15)
    stats.avg_latency_ms = 12.34
    report = usage_service_pb2.GetUsageReportResponse(
        start_time=ts(t0),
        end_time=ts(t0 + timedelta(hours=1)),
        totals=stats,
        groups=[
            usage_pb2.UsageGroup(
                key="gpt", label="gpt", stats=stats, series=[usage_pb2.UsagePoint(start_time=ts(t0), stats=stats)]
            )
        ],
    )
    stub = FakeUsage(report)
    run(stub, "usage", "--user", "a@x.io", "--since", "2030-01-01", "--group-by", "model", "--bucket", "hour", "--json")
    request = stub.requests[0]
    assert request.scope == "users/a@x.io" and request.group_by == usage_pb2.USAGE_GROUP_BY_MODEL
    assert request.bucket == usage_pb2.USAGE_BUCKET_HOUR and not request.HasField("end_time")
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["requests"] == 3 and data["totals"]["avg_latency_ms"] == 12.3
    assert data["totals"]["p95_latency_ms"] is None
    assert data["groups"][0]["series"][0]["start"] == "2030-01-01T00:00:00Z"
    run(stub, "usage", "--group-by", "model", "--bucket", "hour")
    text = capsys.readouterr().out
    assert "by model:" in text and "per hour:" in text


def test_export_formats(capsys: pytest.CaptureFixture[str]) -> None:
    record = usage_pb2.UsageRecord(id=1, request_id="r1", create_time=ts(datetime(2030, 1, 1, tzinfo=UTC)), status=200)
    stub = FakeUsage(batches=[usage_service_pb2.ExportUsageRecordsResponse(records=[record, record])])
    run(stub, "usage", "export", "--since", "1d", "--format", "jsonl", "--org", "acme")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["request_id"] == "r1"
    assert stub.requests[0].scope == "orgs/acme"
    run(stub, "usage", "export", "--format", "csv")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("id,request_id,create_time") and len(out) == 3
