"""A fake OpenAI-compatible upstream on loopback, shared by the core inference integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_upstream import FakeUpstream, FakeUpstreamConfig


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(FakeUpstreamConfig(chunks=5, embedding_dim=8)) as fake:
        yield fake
