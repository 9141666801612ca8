"""Migrated databases for the exclusion admin tests."""

from tests.support.migrated_db import database_url, engine, postgres_session_url, sqlite_template

__all__ = ["database_url", "engine", "postgres_session_url", "sqlite_template"]
