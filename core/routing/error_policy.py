"""Which upstream failures are retried, which count against a deployment, and which trigger fallbacks."""

from __future__ import annotations

import random
import re

from core.errors import AqueductError, RateLimited, UpstreamError, UpstreamTimeout, UpstreamUnavailable

# Transient by nature: the same request may well succeed a moment later or on another deployment.
RETRYABLE_STATUSES = frozenset({408, 429})
# Not retried (the caller's or the operator's problem), but 401/403/404 say the deployment itself is broken
# (bad key, model not loaded), so they count towards its cooldown; 400/422 are the request's fault.
DEPLOYMENT_FAULT_STATUSES = frozenset({401, 403, 404})

# How upstreams word "your prompt is longer than my context window" (OpenAI, Azure, vLLM, llama.cpp, TGI).
_CONTEXT_WINDOW_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_WINDOW_TEXT = re.compile(
    r"context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (available )?context|input is too long|reduce the length",
    re.IGNORECASE,
)


def is_retryable(exc: BaseException) -> bool:
    """Connect errors, resets, timeouts, 408, 429 and 5xx (including a malformed answer, reported as 502)."""
    if isinstance(exc, UpstreamTimeout | UpstreamUnavailable):
        return True
    if isinstance(exc, UpstreamError):
        return exc.upstream_status in RETRYABLE_STATUSES or exc.upstream_status >= 500
    return False


def is_deployment_fault(exc: BaseException) -> bool:
    """The failure says something about the deployment's health (so it counts towards cooldown)."""
    if is_retryable(exc):
        return True
    return isinstance(exc, UpstreamError) and exc.upstream_status in DEPLOYMENT_FAULT_STATUSES


def is_context_window_error(exc: BaseException) -> bool:
    if not isinstance(exc, UpstreamError) or exc.upstream_status not in (400, 413, 422):
        return False
    if exc.metadata.get("upstream_code") in _CONTEXT_WINDOW_CODES:
        return True
    return bool(_CONTEXT_WINDOW_TEXT.search(exc.message))


def warrants_fallback(exc: BaseException) -> bool:
    """Every deployment failed transiently, or none was available (cooling down or at capacity)."""
    return is_retryable(exc) or isinstance(exc, RateLimited)


def backoff_seconds(retry: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff before retry number `retry` (1-based) with equal jitter: half of the step is
    fixed, half random, so concurrent retries spread out but never go at once."""
    step = min(cap, base * 2.0 ** max(0, retry - 1))
    return step / 2 + rng.uniform(0, step / 2)


def short_retry_after(exc: AqueductError, limit: float) -> float | None:
    """The upstream's retry-after when it is short enough to wait for, else None."""
    if exc.retry_after is not None and exc.retry_after <= limit:
        return exc.retry_after
    return None
