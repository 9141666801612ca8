"""An upload streamed to the upstream as it arrives, replayable for a retry on another deployment.

The first attempt reads the caller's chunks as the upstream takes them. Each chunk is kept, so a retry (another
deployment, a fallback) sends the same bytes again: what was read so far first, then the rest as it arrives.
The kept chunks are the upload itself (at most its size, bounded by max_upload_bytes), not a copy of it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from core.errors import InvalidRequest


class UploadTooLarge(InvalidRequest):
    """The upload is larger than the configured limit."""


class ReplayableUpload:
    def __init__(self, source: AsyncIterator[bytes], max_bytes: int) -> None:
        self._source = source
        self._chunks: list[bytes] = []
        self._exhausted = False
        self._max = max_bytes
        self.size = 0

    async def reader(self) -> AsyncGenerator[bytes, None]:
        """The whole upload from its first byte; one reader at a time (attempts are sequential)."""
        index = 0
        while True:
            if index < len(self._chunks):
                yield self._chunks[index]
                index += 1
                continue
            if self._exhausted:
                return
            chunk = await anext(self._source, None)
            if chunk is None:
                self._exhausted = True
                return
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self._max:
                raise UploadTooLarge(f"The audio file is larger than the limit of {self._max} bytes.", field="file")
            self._chunks.append(chunk)
