"""Pagination for every List RPC in core (AIP-158), over a SQL query or an in-memory sequence.

- `page_size` 0 means DEFAULT_PAGE_SIZE, a size above MAX_PAGE_SIZE is coerced down, a negative one is
  INVALID_ARGUMENT.
- Tokens are opaque to callers: URL-safe base64 of the last key returned plus a digest of the listing's
  `scope` (its filters, e.g. the parent). A token that does not decode, or that came from a listing with other
  filters, is INVALID_ARGUMENT. Tokens carry no server state, so they work on any replica.

Both entry points take the same (page_size, page_token, scope) triple and return a `Page`:

    page = await paginate(session, stmt, key=col(Row.id), key_of=lambda row: row.id,
                          page_size=request.page_size, page_token=request.page_token, scope=parent)
    page = paginate_items(items, key_of=lambda item: item.name, page_size=..., page_token=...)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import InvalidRequest

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
PAGE_SIZE_FIELD = "page_size"
PAGE_TOKEN_FIELD = "page_token"
# Bumped if the token layout changes, so old tokens are rejected instead of misread.
_TOKEN_VERSION = 1


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str  # empty on the last page


@dataclass(frozen=True, slots=True)
class _Cursor:
    size: int
    after: str | None  # the last key of the previous page; None for the first page
    scope: str


def _scope_digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def _cursor(page_size: int, page_token: str, scope: str) -> _Cursor:
    if page_size < 0:
        raise InvalidRequest("page_size must not be negative", field=PAGE_SIZE_FIELD)
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return _Cursor(size, None, scope)
    try:
        raw = base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4))
        version, digest, after = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InvalidRequest("page_token is not a token this server issued", field=PAGE_TOKEN_FIELD) from exc
    if version != _TOKEN_VERSION or not isinstance(after, str):
        raise InvalidRequest("page_token is not a token this server issued", field=PAGE_TOKEN_FIELD)
    if digest != _scope_digest(scope):
        raise InvalidRequest("page_token belongs to a listing with other filters", field=PAGE_TOKEN_FIELD)
    return _Cursor(size, after, scope)


def _token(cursor: _Cursor, last_key: str) -> str:
    raw = json.dumps([_TOKEN_VERSION, _scope_digest(cursor.scope), last_key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cut(rows: Sequence[T], cursor: _Cursor, key_of: Callable[[T], str]) -> Page[T]:
    """`rows` holds up to one row more than the page: its presence says another page follows."""
    if len(rows) <= cursor.size:
        return Page(list(rows), "")
    items = list(rows[: cursor.size])
    return Page(items, _token(cursor, key_of(items[-1])))


async def paginate(
    session: AsyncSession,
    stmt: Any,
    *,
    key: Any,
    key_of: Callable[[Any], str],
    page_size: int,
    page_token: str,
    scope: str = "",
    descending: bool = False,
) -> Page[Any]:
    """One page of `stmt` (a sqlmodel/SQLAlchemy select), ordered by the unique column `key` (keyset
    pagination, so rows added meanwhile never shift a page), newest-id first when `descending`. `key_of` reads
    that key from a result row; `scope` names the listing's filters so a token cannot be replayed against
    another listing."""
    cursor = _cursor(page_size, page_token, scope)
    if cursor.after is not None:
        stmt = stmt.where(key < cursor.after if descending else key > cursor.after)
    rows = (await session.exec(stmt.order_by(key.desc() if descending else key).limit(cursor.size + 1))).all()
    return _cut(rows, cursor, key_of)


def paginate_items(
    items: Sequence[T], *, key_of: Callable[[T], str], page_size: int, page_token: str, scope: str = ""
) -> Page[T]:
    """One page of an in-memory sequence in its given order; `key_of` must be unique within it. A token whose
    item has gone (the configuration changed between pages) is INVALID_ARGUMENT: start over."""
    cursor = _cursor(page_size, page_token, scope)
    start = 0
    if cursor.after is not None:
        keys = [key_of(item) for item in items]
        if cursor.after not in keys:
            raise InvalidRequest("page_token no longer matches the list; start again", field=PAGE_TOKEN_FIELD)
        start = keys.index(cursor.after) + 1
    return _cut(items[start : start + cursor.size + 1], cursor, key_of)
