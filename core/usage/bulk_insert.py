"""Inserting a batch of rows in as few driver calls as the backend needs.

PostgreSQL (psycopg, async on the event loop's own socket) takes an executemany. SQLite does not: aiosqlite runs
the driver in a thread, and the sqlite3 module's executemany releases and retakes the GIL around every row's
step. Under load each retake waits for the busy event loop to let go of the GIL (up to the 5 ms switch
interval), so a 500-row batch took seconds, the usage queue grew and memory with it. There a batch goes out as
multi-row INSERTs of 64, 32, ..., 1 rows: a handful of steps, and at most seven statement shapes for the
driver's statement cache."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

# 64 rows x 21 columns of usage_records stay far below SQLite's 32,766 parameters per statement.
PAGE_ROWS = 64


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts `rows` (dicts with the same keys, a subset of the table's columns) in the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        await conn.execute(table.insert(), list(rows))
        return
    columns = tuple(rows[0])
    processors = _bind_processors(table, columns, conn.dialect)
    start, size = 0, PAGE_ROWS
    while start < len(rows):
        while len(rows) - start < size:
            size //= 2
        params: list[Any] = []
        for row in rows[start : start + size]:
            for name, process in processors:
                value = row[name]
                params.append(value if process is None else process(value))
        await conn.exec_driver_sql(_sqlite_insert_sql(table.name, columns, size), tuple(params))
        start += size


@functools.cache
def _sqlite_insert_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    one_row = "(" + ",".join("?" * len(columns)) + ")"
    return f"INSERT INTO {table} ({','.join(columns)}) VALUES " + ",".join([one_row] * rows)


_Processors = tuple[tuple[str, Callable[[Any], Any] | None], ...]
_PROCESSORS: dict[tuple[str, tuple[str, ...], str], _Processors] = {}


def _bind_processors(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Processors:
    """SQLAlchemy's own conversion of each column's Python value for this dialect (e.g. UtcDateTime -> naive
    UTC -> SQLite's text form), so rows stored here read back exactly like rows stored through the ORM."""
    key = (table.name, columns, dialect.name)
    found = _PROCESSORS.get(key)
    if found is None:
        types = ((name, table.c[name].type.dialect_impl(dialect)) for name in columns)
        found = _PROCESSORS[key] = tuple((name, impl.bind_processor(dialect)) for name, impl in types)
    return found
