"""OpenAI's rate-limit headers (x-ratelimit-limit/remaining/reset-requests and -tokens) from the state of
the windows a request was checked against. They reach the client in the reservation's response metadata
(core.inference.response_metadata) or, on a 429, in the RateLimited error's metadata.

The header values describe the tightest limit: for requests the window with the fewest requests left (in
requests of this model's weight), for tokens the token window (input, output or total) with the fewest
tokens left. Reset is the time until that window has fully emptied, as OpenAI defines it."""

from __future__ import annotations

from collections.abc import Sequence

from aqueduct_contract.metadata import (
    LIMIT_REQUESTS,
    LIMIT_TOKENS,
    REMAINING_REQUESTS,
    REMAINING_TOKENS,
    RESET_REQUESTS,
    RESET_TOKENS,
)
from core.governance.limits.backend import KeyState
from core.governance.limits.model import REQUEST_UNITS, TOKEN_DIMENSIONS, Check, Dimension


def format_duration(ms: int) -> str:
    """OpenAI's style: "20ms", "1s", "6.5s", "1m0s"."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    minutes, rest = divmod(ms, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def rate_limit_headers(checks: Sequence[Check], states: Sequence[KeyState]) -> dict[str, str]:
    headers: dict[str, str] = {}
    best_requests: tuple[int, int, int] | None = None  # (remaining, limit, reset_ms) in requests
    best_tokens: tuple[int, int, int] | None = None
    for check, state in zip(checks, states, strict=True):
        if check.has_limit(Dimension.REQUESTS):
            weight = max(1, check.costs[Dimension.REQUESTS])
            limit = check.limits[Dimension.REQUESTS] // weight
            remaining = max(0, check.limits[Dimension.REQUESTS] - state.used[Dimension.REQUESTS]) // weight
            if best_requests is None or remaining < best_requests[0]:
                best_requests = (remaining, limit, state.reset_ms)
        for dim in TOKEN_DIMENSIONS:
            if check.has_limit(dim):
                remaining = max(0, check.limits[dim] - state.used[dim])
                if best_tokens is None or remaining < best_tokens[0]:
                    best_tokens = (remaining, check.limits[dim], state.reset_ms)
    if best_requests is not None:
        headers[LIMIT_REQUESTS] = str(best_requests[1])
        headers[REMAINING_REQUESTS] = str(best_requests[0])
        headers[RESET_REQUESTS] = format_duration(best_requests[2])
    if best_tokens is not None:
        headers[LIMIT_TOKENS] = str(best_tokens[1])
        headers[REMAINING_TOKENS] = str(best_tokens[0])
        headers[RESET_TOKENS] = format_duration(best_tokens[2])
    return headers


def requests_text(units: int) -> str:
    """Request units as a number of requests ("3", "2.5")."""
    return f"{units / REQUEST_UNITS:.2f}".rstrip("0").rstrip(".")
