"""Usage events as the request path hands them to the usage writer, for the storage and reporting tests."""

from __future__ import annotations

from datetime import UTC, datetime

from core.usage.events import UsageEvent

__all__ = ["T0", "event"]

T0 = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


def event(i: int = 0, **overrides: object) -> UsageEvent:
    fields: dict[str, object] = dict(
        request_id=f"req-{i}",
        created_at=T0,
        token_id="tok-a",
        user_id="u-a",
        org_id="o-1",
        team_id=None,
        service_account_id=None,
        end_user_id=None,
        model="gpt",
        deployment="gpt-up",
        endpoint_method="POST",
        endpoint_path="/v1/chat/completions",
        status=200,
        input_tokens=10,
        output_tokens=5,
        tokens_estimated=False,
        latency_ms=100.0,
        ttft_ms=None,
        user_agent="pytest",
        client_addr="127.0.0.1",
    )
    fields.update(overrides)
    return UsageEvent(**fields)  # type: ignore[arg-type]
