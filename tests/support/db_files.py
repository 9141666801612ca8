"""Migrated databases for tests: a SQLite template to copy per test, and emptying every table between tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from core.db.migrate import upgrade
from core.db.tables import metadata
from core.db.urls import sync_url


def migrated_sqlite_template(directory: Path) -> Path:
    """A SQLite file at the newest schema, to copy per test (a copy is far faster than migrating)."""
    path = directory / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    """The URL of a fresh copy of `template` in `directory`."""
    path = directory / "aqueduct.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def clear_tables(database_url: str) -> None:
    """Empty every table of core.db.tables (the schema and alembic_version stay)."""
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())
    finally:
        engine.dispose()
