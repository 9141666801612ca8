"""Fresh databases for tests: a SQLite file, or a throwaway PostgreSQL database on the test server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

PG_ENV = "AQUEDUCT_TEST_DATABASE_URL"
REDIS_ENV = "AQUEDUCT_TEST_REDIS_URL"


def postgres_url_or_skip() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/postgres)")
    return url


def redis_url_or_skip() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis tests need {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0)")
    return url


@contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "aqueduct_test") -> Iterator[str]:
    """Creates an empty database next to the one in `server_url`, yields its URL, drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(server_url)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_url(backend: str, tmp_dir: Path) -> Iterator[str]:
    """`backend` is "sqlite" or "postgres"; PostgreSQL skips when the server is not configured."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / 'aqueduct.db'}"
        return
    with fresh_postgres_database(postgres_url_or_skip()) as url:
        yield url
