"""A complete UsageEvent for tests of the usage writer and its spool; keyword overrides change single fields."""

from __future__ import annotations

from datetime import UTC, datetime

from core.usage.events import UsageEvent


def usage(i: int = 0, **overrides: object) -> UsageEvent:
    fields: dict[str, object] = dict(
        request_id=f"req-{i}",
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
        token_id="t1",
        user_id="u1",
        org_id="o1",
        team_id=None,
        service_account_id=None,
        end_user_id="end-user",
        model="gpt-x",
        deployment="gpt-x-2030",
        endpoint_method="POST",
        endpoint_path="/v1/chat/completions",
        status=200,
        input_tokens=10,
        output_tokens=5,
        tokens_estimated=False,
        latency_ms=12.5,
        ttft_ms=3.0,
        user_agent="pytest",
        client_addr="127.0.0.1",
    )
    fields.update(overrides)
    return UsageEvent(**fields)  # type: ignore[arg-type]
