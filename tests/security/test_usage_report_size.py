"""#5 (reports): nothing a tenant can make large breaks usage reporting. 16,000 distinct 255-character
`user_id`s made `usage --group-by user_id` fail on gRPC's 4 MB message limit ("8,752,109 vs 4,194,304"), and
1 MB upstream errors (stored before the 4,096-character cap) made `usage export` exit 1 after 1,000 of 1,740
rows. Reports now come in pages that the CLI and the typed client follow; export batches are sized by bytes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from aqueduct.v1 import usage_pb2
from aqueduct_client import AqueductClient
from google.protobuf.timestamp_pb2 import Timestamp

from core.usage.recorder import MAX_ERROR_MESSAGE_CHARS
from tests.security.conftest import insert_raw_records, record_events
from tests.support.gateway import ADMIN_TOKEN, Gateway
from tests.support.usage_events import event

# Each test reads its own past hour, so the other tests' traffic never shows.
REPORT_HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
EXPORT_HOUR = REPORT_HOUR - timedelta(days=1)
DISTINCT_USER_IDS = 16_000
USER_ID_CHARS = 255


def window(start: datetime) -> tuple[str, ...]:
    return ("--since", start.isoformat(), "--until", (start + timedelta(hours=1)).isoformat())


def user_id(i: int) -> str:
    return f"{i:06d}-".ljust(USER_ID_CHARS, "u")


@pytest.mark.timeout(600)  # 16,000 rows written and reported four times, on a shared CI machine
def test_group_by_user_id_with_16000_distinct_user_ids(gateway: Gateway) -> None:
    record_events(
        gateway,
        (
            event(i, created_at=REPORT_HOUR + timedelta(seconds=i % 3600), end_user_id=user_id(i))
            for i in range(DISTINCT_USER_IDS)
        ),
    )
    result = gateway.cli("usage", *window(REPORT_HOUR), "--group-by", "user_id", "--json", check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["groups"]) == DISTINCT_USER_IDS and data["totals"]["requests"] == DISTINCT_USER_IDS
    assert sorted(g["key"] for g in data["groups"]) == [user_id(i) for i in range(DISTINCT_USER_IDS)]

    table = gateway.cli("usage", *window(REPORT_HOUR), "--group-by", "user_id", "--bucket", "minute", check=False)
    assert table.returncode == 0, table.stderr
    assert sum(line.startswith("0") for line in table.stdout.splitlines()) == 2 * DISTINCT_USER_IDS  # group + point

    async def typed() -> usage_pb2.UsageStats:
        start, end = Timestamp(), Timestamp()
        start.FromDatetime(REPORT_HOUR)
        end.FromDatetime(REPORT_HOUR + timedelta(hours=1))
        async with AqueductClient(gateway.core_target, ADMIN_TOKEN) as client:
            report = await client.get_usage_report(
                start_time=start, end_time=end, group_by=usage_pb2.USAGE_GROUP_BY_USER_ID
            )
        assert len({g.key for g in report.groups}) == DISTINCT_USER_IDS and not report.next_page_token
        return report.totals

    assert asyncio.run(typed()).requests == DISTINCT_USER_IDS


def test_export_of_large_error_texts(gateway: Gateway) -> None:
    # 1,740 rows with 4 KB errors (today's cap) and 5 rows with 1 MB errors from before the cap.
    record_events(
        gateway,
        (
            event(i, created_at=EXPORT_HOUR + timedelta(seconds=i), status=502, error_message="e" * 4096)
            for i in range(1740)
        ),
    )
    old = [
        {**asdict(event(10_000 + i, created_at=EXPORT_HOUR + timedelta(minutes=50))), "error_message": "x" * (1 << 20)}
        for i in range(5)
    ]
    insert_raw_records(gateway, old)
    for fmt in ("jsonl", "csv"):
        result = gateway.cli("usage", "export", *window(EXPORT_HOUR), "--format", fmt, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        if fmt == "jsonl":
            records = [json.loads(line) for line in result.stdout.splitlines()]
            assert len(records) == 1745
            assert {len(r["error_message"]) for r in records} == {4096, MAX_ERROR_MESSAGE_CHARS}
