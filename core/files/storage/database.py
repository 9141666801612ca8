"""File bytes in the database, in rows of at most 1 MiB: every replica on one PostgreSQL sees every file with
nothing else to run. A write replaces the key's rows in short transactions of a few chunks each (a 1 GB file
is never one transaction); a failed write removes what it stored."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.tables.files import FileChunkRow
from core.files.storage import rechunk

# Chunks inserted per transaction: a few MiB per round trip, bounded memory.
_CHUNKS_PER_TRANSACTION = 4

_TABLE = FileChunkRow.__table__  # type: ignore[attr-defined]


class DatabaseStorage:
    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        await self.delete(key)
        size = 0
        seq = 0
        pending: list[dict[str, object]] = []
        try:
            async for chunk in rechunk(chunks):
                pending.append({"storage_key": key, "seq": seq, "data": chunk})
                seq += 1
                size += len(chunk)
                if len(pending) >= _CHUNKS_PER_TRANSACTION:
                    await self._insert(pending)
                    pending = []
            if pending or seq == 0:
                # An empty file still has its (empty) first chunk: a missing key is "not found".
                await self._insert(pending or [{"storage_key": key, "seq": 0, "data": b""}])
        except BaseException:
            await self.delete(key)
            raise
        return size

    async def _insert(self, rows: list[dict[str, object]]) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(_TABLE.insert(), rows)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        # One chunk per query: memory stays at one chunk whatever the file's size.
        seq = 0
        while True:
            async with self._engine.connect() as connection:
                data = (
                    await connection.execute(
                        select(_TABLE.c.data).where(_TABLE.c.storage_key == key, _TABLE.c.seq == seq)
                    )
                ).scalar_one_or_none()
            if data is None:
                if seq == 0:
                    raise FileNotFoundError(key)
                return
            if data:
                yield bytes(data)
            seq += 1

    async def delete(self, key: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(_TABLE).where(_TABLE.c.storage_key == key))

    async def aclose(self) -> None:
        return None
