"""Storage: SQLModel tables, the async engine and session factory, and migrations.

Public: `create_engine(database_url)`, `create_sessionmaker(engine)`, `async_url(url)` (core.db.engine) and
`upgrade(database_url)` (core.db.migrate)."""

from core.db.engine import async_url, create_engine, create_sessionmaker
from core.db.migrate import upgrade

__all__ = ["async_url", "create_engine", "create_sessionmaker", "upgrade"]
