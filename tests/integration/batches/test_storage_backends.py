"""The three storage backends behind one interface, driven directly: streamed writes (rechunked to at most
1 MiB), reads, replacement, deletion, and nothing left behind by a write that fails midway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.db.engine import create_engine
from core.db.migrate import upgrade
from core.files.storage import CHUNK_BYTES, FileStorage, open_storage
from core.settings import Settings
from tests.integration.batches.conftest import BUCKET, KEYS, _bucket
from tests.support.databases import database_url


class Boom(Exception):
    pass


async def _pieces(data: bytes, size: int, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for n, start in enumerate(range(0, len(data), size)):
        if fail_after is not None and n == fail_after:
            raise Boom
        yield data[start : start + size]


async def _read(storage: FileStorage, key: str) -> list[bytes]:
    return [chunk async for chunk in storage.read(key)]


@pytest.fixture(params=["local", "database-sqlite", "database-postgres", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    kind = str(request.param)
    backend = "postgres" if kind.endswith("postgres") else "sqlite"
    with database_url(backend, tmp_path) as url:
        upgrade(url)
        if kind == "local":
            yield Settings(database_url=url, data_dir=str(tmp_path / "var"))
        elif kind.startswith("database"):
            yield Settings(database_url=url, files_storage="database")
        else:
            endpoint = request.getfixturevalue("s3_endpoint")
            _bucket(endpoint)
            yield Settings(
                database_url=url,
                files_storage=f"s3://{BUCKET}/unit",
                files_s3_endpoint=endpoint,
                files_s3_access_key_id=KEYS["S3_TEST_KEY_ID"],
                files_s3_secret_access_key=KEYS["S3_TEST_SECRET"],
            )


async def test_write_read_replace_delete(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    storage = open_storage(settings, engine)
    try:
        data = bytes(range(256)) * 10_000  # ~2.5 MB in 3 MB pieces: rechunked below 1 MiB
        assert await storage.write("file-a", _pieces(data, 3 * 1024 * 1024)) == len(data)
        chunks = await _read(storage, "file-a")
        assert b"".join(chunks) == data and max(map(len, chunks)) <= CHUNK_BYTES
        assert await storage.write("file-a", _pieces(b"short", 2)) == 5  # replaces
        assert b"".join(await _read(storage, "file-a")) == b"short"
        await storage.delete("file-a")
        await storage.delete("file-a")  # deleting twice is fine
        with pytest.raises(FileNotFoundError):
            await _read(storage, "file-a")
        with pytest.raises(Boom):
            await storage.write("file-b", _pieces(data, 1024 * 1024, fail_after=2))
        with pytest.raises(FileNotFoundError):
            await _read(storage, "file-b")
        assert await storage.write("empty", _pieces(b"", 1)) == 0
        assert await _read(storage, "empty") in ([], [b""])
        await storage.delete("empty")
        if storage.name == "local":
            assert list((Path(settings.data_dir) / "files").iterdir()) == []
    finally:
        await storage.aclose()
        await engine.dispose()
