"""Fixtures every test folder may use: a migrated database per test on SQLite, and on PostgreSQL when
AQUEDUCT_TEST_DATABASE_URL is set (see tests/support/migrated_db.py)."""

from tests.support.migrated_db import database_url, engine, postgres_session_url, sqlite_template

__all__ = ["database_url", "engine", "postgres_session_url", "sqlite_template"]
