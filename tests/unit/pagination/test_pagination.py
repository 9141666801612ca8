"""core.pagination: AIP-158 sizes, opaque tokens tied to their listing, in-memory walks. The SQL path runs in
the tenancy tests over real databases."""

from __future__ import annotations

import base64
import json

import pytest

from core.errors import InvalidRequest
from core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, paginate_items

ITEMS = [f"m{i:04d}" for i in range(MAX_PAGE_SIZE + 5)]


def walk(items: list[str], page_size: int, scope: str = "") -> list[list[str]]:
    pages, token = [], ""
    while True:
        page = paginate_items(items, key_of=str, page_size=page_size, page_token=token, scope=scope)
        pages.append(page.items)
        token = page.next_page_token
        if not token:
            return pages


def test_zero_means_the_default_and_oversize_is_coerced() -> None:
    assert len(paginate_items(ITEMS, key_of=str, page_size=0, page_token="").items) == DEFAULT_PAGE_SIZE
    oversize = paginate_items(ITEMS, key_of=str, page_size=MAX_PAGE_SIZE * 3, page_token="")
    assert len(oversize.items) == MAX_PAGE_SIZE and oversize.next_page_token


def test_negative_size_is_invalid() -> None:
    with pytest.raises(InvalidRequest) as info:
        paginate_items(ITEMS, key_of=str, page_size=-1, page_token="")
    assert info.value.field == "page_size"


@pytest.mark.parametrize("size", [1, 3, 7, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE])
def test_a_full_walk_returns_every_item_once_in_order(size: int) -> None:
    items = ITEMS[:23]
    pages = walk(items, size)
    assert [i for page in pages for i in page] == items
    assert all(len(page) == size for page in pages[:-1]) and 0 < len(pages[-1]) <= size


def test_an_exact_multiple_has_no_empty_last_page() -> None:
    assert walk(ITEMS[:6], 3) == [ITEMS[:3], ITEMS[3:6]]
    assert walk([], 3) == [[]]


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(json.dumps([99, "x", "m0001"]).encode()).decode(),  # another version
    ],
)
def test_a_token_the_server_did_not_issue_is_invalid(token: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        paginate_items(ITEMS, key_of=str, page_size=2, page_token=token)
    assert info.value.field == "page_token"


def test_a_token_only_works_for_its_own_filters() -> None:
    first = paginate_items(ITEMS, key_of=str, page_size=2, page_token="", scope="orgs/acme")
    assert paginate_items(ITEMS, key_of=str, page_size=2, page_token=first.next_page_token, scope="orgs/acme").items
    with pytest.raises(InvalidRequest, match="other filters"):
        paginate_items(ITEMS, key_of=str, page_size=2, page_token=first.next_page_token, scope="orgs/globex")


def test_a_token_whose_item_is_gone_asks_to_start_again() -> None:
    first = paginate_items(ITEMS, key_of=str, page_size=2, page_token="")
    with pytest.raises(InvalidRequest, match="start again"):
        paginate_items(ITEMS[2:], key_of=str, page_size=2, page_token=first.next_page_token)


def test_tokens_are_opaque_url_safe_text() -> None:
    token = paginate_items(["a/b", "c d"], key_of=str, page_size=1, page_token="").next_page_token
    assert token and "/" not in token and "a/b" not in token
