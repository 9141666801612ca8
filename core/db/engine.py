"""The runtime's async engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db.urls import async_url, backend, ensure_sqlite_parent

__all__ = ["async_url", "create_engine", "create_sessionmaker"]

# How long a SQLite writer waits for another connection's lock before failing: usage batches and admin writes
# may overlap for a moment, which should never surface as "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers proceed while the usage writer writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL never corrupts the database; only the last commits may be lost on power loss, and it
    # saves an fsync per commit (tens of ms on some disks).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine for `database_url` (driver-less URL from settings). Dispose it on shutdown."""
    ensure_sqlite_parent(database_url)
    if backend(database_url) == "sqlite":
        engine = create_async_engine(async_url(database_url))
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    # pre_ping: a replica outliving a PostgreSQL restart should not fail the first request on each connection.
    return create_async_engine(async_url(database_url), pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: views are built from rows after commit without another round trip.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
