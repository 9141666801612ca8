"""File bytes in a local directory: one file per key, written to a temporary name and renamed when complete,
so a reader never sees half a file and a crash leaves only a `.part` file (removed by the next write)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from core.files.storage import CHUNK_BYTES, rechunk


class LocalStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self._root / key

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        final = self._path(key)
        part = final.with_name(final.name + ".part")
        size = 0
        handle = await asyncio.to_thread(open, part, "wb")
        try:
            async for chunk in rechunk(chunks):
                await asyncio.to_thread(handle.write, chunk)
                size += len(chunk)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, part, final)
        except BaseException:
            handle.close()
            part.unlink(missing_ok=True)
            raise
        return size

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def aclose(self) -> None:
        return None
