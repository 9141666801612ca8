"""One fake upstream per module (tests/support/fake_upstream.py), its request log emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_upstream import FakeUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def fresh(upstream: FakeUpstream) -> FakeUpstream:
    """The module's upstream with an empty request log."""
    upstream.reset()
    return upstream
