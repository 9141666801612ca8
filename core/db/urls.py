"""Database URL handling: the configured `database_url` is driver-less (`sqlite:///path`,
`postgresql://user@host/db`); the runtime adds the async driver, migrations the sync one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def backend(url: str) -> str:
    """ "sqlite" or "postgresql"; anything else is a configuration error."""
    name = make_url(url).get_backend_name()
    if name == "postgres":
        name = "postgresql"
    if name not in _ASYNC_DRIVERS:
        raise ValueError(f"database_url: unsupported backend {name!r}; use sqlite:/// or postgresql://")
    return name


def _with_driver(url: str, drivers: dict[str, str]) -> str:
    parsed = make_url(url)
    return parsed.set(drivername=drivers[backend(url)]).render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """`sqlite:///` -> `sqlite+aiosqlite:///`, `postgresql://` -> `postgresql+psycopg://` (explicit drivers kept
    only if they are the ones we ship)."""
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str) -> str:
    """The synchronous twin used by migrations: pysqlite, or psycopg 3 in sync mode."""
    return _with_driver(url, _SYNC_DRIVERS)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory SQLite."""
    if backend(url) != "sqlite":
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


# The database holds emails, token hashes and usage: readable by the gateway's user only. SQLite gives its
# -wal and -shm files the mode of the database file.
SQLITE_FILE_MODE = 0o600


def ensure_sqlite_parent(url: str) -> None:
    """SQLite cannot create the directory of its file; do it so a fresh checkout starts. A new database file is
    created here, private, rather than by SQLite with the umask's mode (usually 0644)."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, SQLITE_FILE_MODE))
