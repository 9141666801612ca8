"""OpenAI's list query parameters (`limit`, `after`, `order`) for the files and batches lists."""

from __future__ import annotations

from starlette.requests import Request

# OpenAI's bounds for `limit` on these lists.
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 20


def list_params(request: Request, *, with_order: bool = False) -> tuple[int, str, str]:
    """(limit, after, order); ValueError(message, param) for a bad value."""
    query = request.query_params
    raw = query.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise ValueError(f"limit must be an integer between 1 and {MAX_LIMIT}.", "limit")
        limit = int(raw)
    order = query.get("order", "") if with_order else ""
    if order not in ("", "asc", "desc"):
        raise ValueError("order must be 'asc' or 'desc'.", "order")
    return limit, query.get("after", ""), order
