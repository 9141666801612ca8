"""Fixtures for unit tests that need a migrated database: a copy of a migrated SQLite file per test, and the
same test on PostgreSQL (one throw-away database per session, emptied between tests) when
AQUEDUCT_TEST_DATABASE_URL is set. Import them into a conftest: `from tests.support.migrated_db import *`
is not allowed by ruff, so name them: `from tests.support.migrated_db import database_url, ...`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import create_engine
from core.db.migrate import upgrade
from tests.support.databases import fresh_postgres_database, postgres_url_or_skip
from tests.support.db_files import clear_tables, migrated_sqlite_template, sqlite_copy


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("schema"))


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    with fresh_postgres_database(postgres_url_or_skip()) as url:
        upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        return sqlite_copy(sqlite_template, tmp_path)
    url: str = request.getfixturevalue("postgres_session_url")
    clear_tables(url)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()
