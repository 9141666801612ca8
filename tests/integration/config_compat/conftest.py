"""Config-compatibility tests: real `aqueduct serve` processes started on LiteLLM / original-Aqueduct config
files, in front of the loopback fake upstream."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.fake_upstream import FakeUpstream, FakeUpstreamConfig
from tests.support.gateway import ROOT, Gateway

FIXTURES = ROOT / "tests" / "fixtures" / "litellm"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(FakeUpstreamConfig(chunks=3, embedding_dim=8, require_auth=False)) as fake:
        yield fake


def redis_env() -> dict[str, str]:
    """The shared test Redis as LiteLLM's redis_host / redis_port / redis_password / redis_db."""
    url = os.environ.get("AQUEDUCT_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs AQUEDUCT_TEST_REDIS_URL")
    parts = urlsplit(url)
    return {
        "AQ_TEST_REDIS_HOST": parts.hostname or "127.0.0.1",
        "AQ_TEST_REDIS_PORT": str(parts.port or 6379),
        "AQ_TEST_REDIS_PASSWORD": parts.password or "",
        "AQ_TEST_REDIS_DB": parts.path.lstrip("/") or "0",
    }


def fixture_gateway(
    name: str,
    workdir: Path,
    upstream: FakeUpstream,
    *,
    env: dict[str, str] | None = None,
    includes: tuple[str, ...] = (),
    append: str = "",
) -> Gateway:
    """A gateway (not started) on the documentation example `name`, copied unchanged into `workdir` with the
    files it includes; `append` adds Aqueduct-only lines (e.g. a test's own Redis key prefix)."""
    for include in includes:
        shutil.copy(FIXTURES / include, workdir / include)
    environment: dict[str, Any] = {"AQ_TEST_UPSTREAM": upstream.base_url, **(env or {})}
    gateway = Gateway({}, workdir, env=environment)
    gateway.config_path.write_text((FIXTURES / name).read_text() + append)
    return gateway
