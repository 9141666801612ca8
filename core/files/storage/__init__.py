"""Where file bytes live, behind one small interface: a local directory, the database in chunks, or
S3-compatible object storage. Bytes are streamed in both directions (at most CHUNK_BYTES at a time in memory
per transfer), never held whole."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.urls import backend
from core.settings import Settings

# Largest piece of a file in memory, in a gRPC message or in a database row.
CHUNK_BYTES = 1024 * 1024


class FileStorage(Protocol):
    """Keys are server-made ([a-z0-9_-]); writing a key again replaces its bytes."""

    name: str

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Stores the chunks under `key` in order; returns the size. On failure nothing is left under `key`."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The bytes under `key`, in chunks of at most CHUNK_BYTES; FileNotFoundError for a missing key."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the bytes; a missing key is not an error."""
        ...

    async def aclose(self) -> None: ...


async def rechunk(chunks: AsyncIterable[bytes], size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """The same bytes in pieces of at most `size` (large writes from clients split, tiny ones kept as they are)."""
    async for chunk in chunks:
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]


def open_storage(settings: Settings, engine: AsyncEngine) -> FileStorage:
    """The backend `files_storage` names; unset: a directory under data_dir with SQLite, the database with
    PostgreSQL (so replicas share files with nothing else to run)."""
    configured = settings.files_storage
    if configured is None:
        configured = (
            "database" if backend(settings.database_url) == "postgresql" else str(Path(settings.data_dir) / "files")
        )
    if configured == "database":
        from core.files.storage.database import DatabaseStorage

        return DatabaseStorage(engine)
    if configured.startswith("s3://"):
        from core.files.storage.s3 import S3Storage

        return S3Storage.from_settings(configured, settings)
    from core.files.storage.local import LocalStorage

    return LocalStorage(Path(configured.removeprefix("file://")))
