"""Unit tests open no sockets (DESIGN §6): every test here runs with pytest-socket's guard, so creating an
internet socket (connect, bind, a client or server of any kind) raises SocketBlockedError. Unix sockets stay
allowed for asyncio's own wake-up pair. A test that needs a real server belongs in tests/integration.

The migrated-database fixtures of tests/conftest.py run on SQLite only here (a file, no socket); the same
fixtures give tests/integration the PostgreSQL variant as well."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.db_files import sqlite_copy

UNIT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if UNIT not in item.path.parents:
            continue
        item.add_marker(pytest.mark.disable_socket)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    return sqlite_copy(sqlite_template, tmp_path)
