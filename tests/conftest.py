"""Fixtures every test folder may use: a migrated database per test on SQLite, and on PostgreSQL when
AQUEDUCT_TEST_DATABASE_URL is set (see tests/support/migrated_db.py).

In CI (`CI` set, as .ci/run's environment does) a skipped test is a failure: a test that cannot run because
something it needs is missing (PostgreSQL, Redis, a tool) must not let the suite pass without it."""

import os
from collections.abc import Generator, Iterator

import pytest

from tests.support.migrated_db import database_url, engine, postgres_session_url, sqlite_template
from tests.support.sdk import close_sdk_clients

__all__ = ["database_url", "engine", "postgres_session_url", "sqlite_template"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    assert isinstance(report, pytest.TestReport)
    if os.environ.get("CI", "").lower() in ("", "0", "false") or not report.skipped or hasattr(report, "wasxfail"):
        return report
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, where nothing a test needs may be missing: {reason}"
    return report


@pytest.fixture(autouse=True)
def _close_sdk_clients() -> Iterator[None]:
    yield
    close_sdk_clients()
