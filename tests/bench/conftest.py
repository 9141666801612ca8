"""Fixtures for the benchmark harness tests.

`bench` is a repository tool, not part of the installed wheel, so put the repository root on
sys.path (pytest's default import mode only adds this test directory).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.fake_upstream import FakeUpstream  # noqa: E402


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def fresh(upstream: FakeUpstream) -> FakeUpstream:
    """The module's upstream with an empty request log."""
    upstream.reset()
    return upstream
