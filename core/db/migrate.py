"""Schema migrations (alembic), configured in code: no alembic.ini is needed at runtime.

`upgrade(database_url)` runs at startup. It is idempotent, and safe when several replicas start at once: on
PostgreSQL the whole upgrade runs in one transaction holding an advisory lock (the second replica waits, then
finds the schema at head); on SQLite a file lock beside the database serializes processes on one host.

For developers adding a table: `python -m core.db.migrate revision -m "add x" --url sqlite:///var/dev.db`
autogenerates a new revision against the models in core.db.tables (upgrade that database first)."""

from __future__ import annotations

import argparse
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from core.db.urls import backend, ensure_sqlite_parent, sqlite_path, sync_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary but fixed key of the PostgreSQL advisory lock that serializes migrations ("aqueduct" in ASCII).
ADVISORY_LOCK_KEY = 0x6171756564756374


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    # configparser interpolates '%', which may appear in URL-encoded passwords.
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return cfg


@contextmanager
def _sqlite_file_lock(database_url: str) -> Iterator[None]:
    path = sqlite_path(database_url)
    if path is None:
        yield
        return
    with open(path.with_name(path.name + ".migrate-lock"), "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest). Blocking; call before serving."""
    ensure_sqlite_parent(database_url)
    cfg = alembic_config(database_url)
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with _sqlite_file_lock(database_url), engine.begin() as connection:
            if backend(database_url) == "postgresql":
                # Transaction-scoped: released by the commit that also makes the new schema visible.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.db.migrate", description=__doc__)
    parser.add_argument("action", choices=["upgrade", "revision", "current"])
    parser.add_argument("--url", required=True, help="driver-less database URL, e.g. sqlite:///var/dev.db")
    parser.add_argument("-m", "--message", default="", help="revision message")
    parser.add_argument("--rev-id", default=None, help="revision id; use the next number, e.g. 0002")
    args = parser.parse_args(argv)
    if args.action == "upgrade":
        upgrade(args.url)
    elif args.action == "current":
        print(current_revision(args.url))
    else:
        command.revision(alembic_config(args.url), message=args.message, autogenerate=True, rev_id=args.rev_id)


if __name__ == "__main__":
    main()
