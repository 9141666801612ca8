"""File bytes in S3-compatible object storage through obstore (the Rust object_store crate): uploads are
streamed as multipart uploads, downloads as a byte stream; nothing is held whole."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator

import obstore
from obstore.store import S3Store

from core.files.storage import CHUNK_BYTES, rechunk
from core.settings import ConfigError, Settings

# Part size of multipart uploads (S3's minimum is 5 MiB).
_PART_BYTES = 8 * 1024 * 1024


class S3Storage:
    name = "s3"

    def __init__(self, store: S3Store) -> None:
        self._store = store

    @classmethod
    def from_settings(cls, url: str, settings: Settings) -> S3Storage:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ConfigError(f"files_storage: {url!r} names no bucket (s3://bucket/prefix)")
        config: dict[str, str] = {"region": settings.files_s3_region}
        if settings.files_s3_endpoint:
            config["endpoint"] = settings.files_s3_endpoint
        if settings.files_s3_access_key_id:
            config["access_key_id"] = settings.files_s3_access_key_id
        if settings.files_s3_secret_access_key:
            config["secret_access_key"] = settings.files_s3_secret_access_key
        endpoint = settings.files_s3_endpoint or ""
        store = S3Store(
            bucket,
            prefix=prefix.strip("/") or None,
            config=config,  # type: ignore[arg-type]
            client_options={"allow_http": endpoint.startswith("http://")},
        )
        return cls(store)

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        size = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal size
            async for chunk in rechunk(chunks):
                size += len(chunk)
                yield chunk

        await obstore.put_async(self._store, key, counted(), chunk_size=_PART_BYTES, max_concurrency=2)
        return size

    async def read(self, key: str) -> AsyncIterator[bytes]:
        result = await obstore.get_async(self._store, key)
        async for piece in result.stream(min_chunk_size=CHUNK_BYTES // 4):
            data = bytes(piece)
            for start in range(0, len(data), CHUNK_BYTES):
                yield data[start : start + CHUNK_BYTES]

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self._store, key)

    async def aclose(self) -> None:
        return None
