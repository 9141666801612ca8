"""Turning upstream HTTP failures into domain errors (core.errors) that are safe to show the caller."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from core.errors import AqueductError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from core.providers.scrubbing import Scrubber, known_code, request_param

log = logging.getLogger("aqueduct.core.providers")

# What a failed upstream call can raise besides domain errors: aiohttp's errors (ClientError), socket errors
# and timeouts (aiohttp's own timeouts are TimeoutError subclasses).
TRANSPORT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
# aiohttp's text for a write refused before anything was written (aiohttp/http_writer.py).
_CLOSING_TRANSPORT = "Cannot write to closing transport"

# Status for an upstream that answered with something that is not the protocol (bad JSON, bad SSE).
BAD_GATEWAY = 502
# An upstream refusing the gateway's own credentials, and the code the caller gets for it.
UPSTREAM_AUTH_STATUSES = frozenset({401, 403})
UPSTREAM_AUTH_CODE = "upstream_auth_failed"
# An error body larger than this is not an OpenAI error object; only its head is read.
MAX_ERROR_BODY_BYTES = 64 * 1024


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date). `headers` is keyed by
    lower-case names (or case-insensitive)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_status(
    status: int, body: bytes, headers: Mapping[str, str], scrub: Scrubber, model: str
) -> UpstreamError:
    """An upstream HTTP error: its message (scrubbed, bounded) when the body is OpenAI-shaped, a code and a
    param from closed sets; the error type is always the gateway's own (the façade's table)."""
    try:
        parsed: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, list) and len(parsed) == 1:
        parsed = parsed[0]  # Google's OpenAI-compatible endpoint wraps its error object in a list
    err = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    if not isinstance(err, dict):
        # e.g. {"error": "model not loaded"} from simpler servers
        err = {"message": err} if isinstance(err, str) else {}
    return upstream_error(
        status, err, scrub, model, f"The upstream returned HTTP {status}.", parse_retry_after(headers)
    )


def error_from_event(error: Any, scrub: Scrubber, model: str) -> UpstreamError:
    """An in-band `data: {"error": {...}}` event (vLLM, OpenAI) after the stream started."""
    status = BAD_GATEWAY
    if not isinstance(error, dict):
        error = {"message": error}
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        status = code
    return upstream_error(status, error, scrub, model, "The upstream reported an error mid-stream.", None)


def upstream_error(
    status: int,
    err: dict[str, Any],
    scrub: Scrubber,
    model: str,
    default: str,
    retry_after: float | None,
    *,
    answer: int | None = None,
    code: str | None = None,
) -> UpstreamError:
    """`err` is the upstream's error object (`message`, `code`, `type`, `param`); `answer` is the status the
    caller gets when the upstream's own is not one OpenAI's clients know (Anthropic's 529), `code` one from
    the closed set that the adapter derived itself."""
    if status in UPSTREAM_AUTH_STATUSES:
        # The gateway's own credentials were refused: to the caller that is a bad gateway, not its token being
        # wrong (a 401 would make the OpenAI SDK raise AuthenticationError). The upstream's text is left out:
        # it quotes part of the key ("Incorrect API key provided: sk-up****cdef").
        return UpstreamError(
            f"The upstream for model `{model}` rejected the gateway's credentials (HTTP {status}); "
            "the gateway's operator must check this deployment's api_key.",
            upstream_status=status,
            status=BAD_GATEWAY,
            upstream_code=UPSTREAM_AUTH_CODE,
        )
    message = err.get("message")
    text = scrub(message) if isinstance(message, str) and message.strip() else default
    return UpstreamError(
        text,
        upstream_status=status,
        status=answer,
        upstream_code=known_code(code) or known_code(err.get("code")) or known_code(err.get("type")),
        upstream_param=request_param(err.get("param")),
        retry_after=retry_after,
    )


def malformed(what: str) -> UpstreamError:
    return UpstreamError(f"The upstream sent a malformed {what}.", upstream_status=BAD_GATEWAY)


def truncated_stream(model: str, deployment: str, origin: str, end: str = "[DONE]") -> UpstreamError:
    """The body ended cleanly but without its end marker (`[DONE]`, Anthropic's message_stop): the answer may
    be cut short, so it is not presented as complete."""
    log.warning("upstream stream of deployment %s (%s) ended without %s", deployment, origin, end)
    return UpstreamError(
        f"The upstream for model `{model}` ended the stream before it was complete (no {end}).",
        upstream_status=BAD_GATEWAY,
    )


def json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    """The JSON object in `raw`, or a 502 saying the upstream's `what` was malformed."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise malformed(what) from None
    if not isinstance(parsed, dict):
        raise malformed(what)
    return parsed


def nothing_was_sent(exc: BaseException) -> bool:
    """True when aiohttp refused to write the request because its pooled connection was already closing (the
    upstream dropped an idle keep-alive connection just as it was picked). aiohttp writes a request's head and
    a bytes body in one write and checks the transport first, so no byte of the request left: sending it again
    on a fresh connection cannot make the upstream process it twice. Any other failure may come after bytes
    went out, and is never retried here."""
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectionResetError) and str(cause) == _CLOSING_TRANSPORT


def redirect_error(status: int, location: str | None, scrub: Scrubber) -> UpstreamError:
    """A 3xx (or another status that is neither success nor error): redirects are never followed, since a POST
    must not be re-sent elsewhere on the upstream's say. A 502 that names where the upstream pointed, so the
    operator can fix api_base (typically http:// to https://, or a missing /v1)."""
    if location:
        try:
            # The query may carry a signed token; the path is enough to see what is wrong.
            shown = str(URL(location).with_user(None).with_query(None).with_fragment(None))
        except ValueError:
            shown = "an invalid URL"
        message = (
            f"The upstream answered HTTP {status}, a redirect to {shown}; redirects are not followed: "
            "set api_base to the final URL."
        )
    else:
        message = f"The upstream answered HTTP {status}, which is neither a result nor an error."
    return UpstreamError(scrub(message), upstream_status=BAD_GATEWAY)


def error_from_transport(exc: BaseException, model: str, deployment: str, origin: str) -> AqueductError:
    """Timeouts, refused or reset connections, TLS failures, broken HTTP. The caller's message names the public
    model, never the upstream URL or the cause; the operator's log line has both (e.g. "certificate verify
    failed")."""
    log.warning("upstream call of deployment %s (%s) failed: %s", deployment, origin, describe(exc))
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"The upstream for model `{model}` timed out.")
    return UpstreamUnavailable(f"The upstream for model `{model}` is unavailable (connection failed).")


def describe(exc: BaseException) -> str:
    """The exception and its causes in one line, for the operator's log."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)
