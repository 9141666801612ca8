from __future__ import annotations

from pathlib import Path

import pytest

from core.db.engine import async_url, create_engine
from core.db.urls import backend, sqlite_path, sync_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/aqueduct.db", "sqlite+aiosqlite:///var/aqueduct.db"),
        ("sqlite:////abs/path.db", "sqlite+aiosqlite:////abs/path.db"),
        ("postgresql://user@host/db", "postgresql+psycopg://user@host/db"),
        ("postgresql://user:p%40ss@host:5433/db", "postgresql+psycopg://user:p%40ss@host:5433/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_async_url(url: str, expected: str) -> None:
    assert async_url(url) == expected


def test_sync_url_keeps_pysqlite_and_uses_psycopg() -> None:
    assert sync_url("sqlite:///x.db") == "sqlite:///x.db"
    assert sync_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_unsupported_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported backend"):
        backend("mysql://u@h/db")


def test_sqlite_path() -> None:
    assert sqlite_path("sqlite:///var/a.db") == Path("var/a.db")
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql://u@h/db") is None


async def test_create_engine_makes_the_sqlite_directory(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/deep/er/a.db")
    try:
        assert (tmp_path / "deep" / "er").is_dir()
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        assert (mode, fks) == ("wal", 1)
    finally:
        await engine.dispose()
