"""Keyset pagination over time-ordered ids. Page tokens are opaque to callers (URL-safe base64 of the last id
returned), so the scheme can change without breaking them."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy.orm import InstrumentedAttribute

from core.errors import InvalidRequest

R = TypeVar("R")
S = TypeVar("S")  # a sqlmodel Select or SelectOfScalar

PAGE_TOKEN_FIELD = "page_token"
# Cursors are server-assigned ids (core.db.ids).
_ID = re.compile(r"[0-9a-f]{1,64}")
PAGE_SIZE_FIELD = "page_size"


def encode_page_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str | None:
    if not token:
        return None
    try:
        last_id = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("page_token is not valid", field=PAGE_TOKEN_FIELD) from exc
    if not _ID.fullmatch(last_id):
        raise InvalidRequest("page_token is not valid", field=PAGE_TOKEN_FIELD)
    return last_id


def page_query(stmt: S, key: InstrumentedAttribute[str] | Any, page_size: int, page_token: str) -> S:
    """Restrict `stmt` to the page after `page_token`, ordered by `key`; fetches one extra row to know whether
    another page follows. page_size 0 means everything."""
    if page_size < 0:
        raise InvalidRequest("page_size must not be negative", field=PAGE_SIZE_FIELD)
    after = decode_page_token(page_token)
    query: Any = stmt
    if after is not None:
        query = query.where(key > after)
    query = query.order_by(key)
    if page_size:
        query = query.limit(page_size + 1)
    return cast(S, query)


def cut_page(rows: Sequence[R], page_size: int, key_of: Callable[[R], str]) -> tuple[list[R], str]:
    """The rows of this page and the token of the next one (empty when this is the last)."""
    if not page_size or len(rows) <= page_size:
        return list(rows), ""
    items = list(rows[:page_size])
    return items, encode_page_token(key_of(items[-1]))
