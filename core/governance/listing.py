"""Pages of the governance Lists (AIP-158): page_size 0 means DEFAULT_PAGE_SIZE, larger than MAX_PAGE_SIZE is
lowered to it, negative is INVALID_ARGUMENT. These collections are small and have no server-assigned ids, so a
page token carries the offset of the next page (opaque to callers, in core.tenancy.pagination's encoding)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from core.errors import InvalidRequest
from core.tenancy.pagination import decode_page_token, encode_page_token

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_window(page_size: int, page_token: str) -> tuple[int, int]:
    """(offset, size) of the page asked for."""
    if page_size < 0:
        raise InvalidRequest("page_size must not be negative", field="page_size")
    offset = decode_page_token(page_token)
    return int(offset, 16) if offset else 0, min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def cut(rows: Sequence[T], offset: int, size: int) -> tuple[list[T], str]:
    """The page from `rows` (fetched from `offset`, up to size + 1 of them) and the next page's token."""
    if len(rows) <= size:
        return list(rows), ""
    return list(rows[:size]), encode_page_token(format(offset + size, "x"))


def page(items: Sequence[T], page_size: int, page_token: str) -> tuple[list[T], str]:
    offset, size = page_window(page_size, page_token)
    return cut(items[offset : offset + size + 1], offset, size)
