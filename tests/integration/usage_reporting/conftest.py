"""Usage events as the real usage writer receives them (raw rows + rollups), for the reporting tests."""

from __future__ import annotations

from datetime import UTC, datetime

from core.usage.events import UsageEvent
from tests.support.usage_events import usage

__all__ = ["event"]

T0 = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


# The reporting tests' own defaults over the shared event factory's.
_DEFAULTS: dict[str, object] = dict(
    created_at=T0,
    token_id="tok-a",
    user_id="u-a",
    org_id="o-1",
    end_user_id=None,
    model="gpt",
    deployment="gpt-up",
    latency_ms=100.0,
    ttft_ms=None,
)


def event(i: int, **overrides: object) -> UsageEvent:
    return usage(i, **(_DEFAULTS | overrides))
