"""Report page tokens and export batch sizes: plain functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import InvalidRequest
from core.usage import page_token
from core.usage.export import split_by_bytes
from core.usage.reporting import page_size

PARAMETERS = ("users/a@b.test", "user_id", None, False)
PAGE = page_token.ReportPage(5000, datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))


def test_a_token_names_its_page_and_range() -> None:
    assert page_token.decode(page_token.encode(PAGE, PARAMETERS), PARAMETERS) == PAGE


@pytest.mark.parametrize("token", ["", "not-base64!", "eyJvIjoxfQ", page_token.encode(PAGE, ("orgs/x",))])
def test_foreign_or_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        page_token.decode(token, PARAMETERS)
    assert info.value.field == "page_token"


def test_page_size_defaults_and_caps() -> None:
    assert (page_size(0), page_size(7), page_size(10**9)) == (5000, 7, 10_000)
    with pytest.raises(InvalidRequest):
        page_size(-1)


def test_export_batches_are_sized_by_bytes() -> None:
    rows = [{"id": i, "error_message": "e" * 4096} for i in range(1000)]
    batches = list(split_by_bytes(rows, limit=100_000))
    assert [r["id"] for b in batches for r in b] == list(range(1000))
    assert all(sum(len(r["error_message"]) for r in b) <= 100_000 for b in batches)
    assert list(split_by_bytes([{"error_message": "x" * 10**6}], limit=1000)) == [[{"error_message": "x" * 10**6}]]
