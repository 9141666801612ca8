"""Reads a `multipart/form-data` upload as it arrives and hands the file part on in chunks, never holding the
whole file: small form fields (purpose, expires_after[...]) are kept, the file part's bytes are passed to
`sink` as they come (at most CHUNK_BYTES at a time). When the file part comes before the fields that describe
it, its bytes wait in a temporary file (in memory up to one chunk, then on disk) until the form ends."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

CHUNK_BYTES = 1024 * 1024
# Longest value of a non-file form field.
MAX_FIELD_BYTES = 4096
FILE_FIELD = "file"


class UploadError(Exception):
    """The form is unusable: `status` 400 (malformed), 413 (too large) or 499 (client went away)."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


@dataclass(slots=True)
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    file_bytes: int = 0


Sink = Callable[[Form, bytes], Awaitable[None]]


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadError(400, "The request must be multipart/form-data with a boundary.")
    return boundary


@dataclass(slots=True)
class _State:
    form: Form
    part_name: str | None = None
    part_filename: str | None = None
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, str] = field(default_factory=dict)
    value: bytearray = field(default_factory=bytearray)
    file_data: bytearray = field(default_factory=bytearray)
    in_file: bool = False
    files_seen: int = 0
    error: UploadError | None = None


class MultipartUpload:
    """`await upload.run(request, ready, sink)`: `ready(form)` says whether the fields seen so far are enough
    to start sending file bytes to `sink` (else they are spooled until the form ends)."""

    def __init__(self, boundary: bytes, max_file_bytes: int) -> None:
        self._max_file_bytes = max_file_bytes
        self._state = _State(Form())
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": lambda data, start, end: self._state.header_field.extend(data[start:end]),
                "on_header_value": lambda data, start, end: self._state.header_value.extend(data[start:end]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    @property
    def form(self) -> Form:
        return self._state.form

    # --- parser callbacks (synchronous; data is collected and handed on after each write) ------------------
    def _part_begin(self) -> None:
        s = self._state
        s.part_name, s.part_filename, s.headers = None, None, {}
        s.value.clear()

    def _header_end(self) -> None:
        s = self._state
        s.headers[bytes(s.header_field).decode("latin-1").lower()] = bytes(s.header_value).decode("utf-8", "replace")
        s.header_field.clear()
        s.header_value.clear()

    def _headers_finished(self) -> None:
        s = self._state
        _, options = parse_options_header(s.headers.get("content-disposition", ""))
        name = options.get(b"name")
        filename = options.get(b"filename")
        s.part_name = name.decode("utf-8", "replace") if name is not None else None
        s.part_filename = filename.decode("utf-8", "replace") if filename is not None else None
        s.in_file = s.part_name == FILE_FIELD
        if s.in_file:
            s.files_seen += 1
            if s.files_seen > 1 and s.error is None:
                s.error = UploadError(400, "Only one file may be uploaded per request.", FILE_FIELD)
            s.form.filename = s.part_filename or ""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        s = self._state
        if s.in_file:
            s.form.file_bytes += end - start
            if s.form.file_bytes > self._max_file_bytes and s.error is None:
                s.error = UploadError(413, f"The file is larger than the limit of {self._max_file_bytes} bytes.")
            if s.error is None:
                s.file_data.extend(data[start:end])
        else:
            s.value.extend(data[start:end])
            if len(s.value) > MAX_FIELD_BYTES and s.error is None:
                s.error = UploadError(400, f"Form field {s.part_name!r} is too long.", s.part_name)

    def _part_end(self) -> None:
        s = self._state
        if not s.in_file and s.part_name is not None:
            s.form.fields[s.part_name] = bytes(s.value).decode("utf-8", "replace")
        s.in_file = False

    # --- driving ------------------------------------------------------------------------------------------
    async def run(self, request: Request, ready: Callable[[Form], bool], sink: Sink) -> None:
        spool: IO[bytes] | None = None
        started = False
        try:
            async for chunk in request.stream():
                try:
                    self._parser.write(chunk)
                except MultipartParseError:
                    raise UploadError(400, "The multipart body is malformed.") from None
                if self._state.error is not None:
                    raise self._state.error
                data = self._state.file_data
                if not data:
                    continue
                if not started and ready(self.form):
                    started = True
                if started and len(data) >= CHUNK_BYTES:
                    await self._drain(sink, final=False)
                elif not started:
                    if spool is None:
                        spool = tempfile.SpooledTemporaryFile(max_size=CHUNK_BYTES)  # noqa: SIM115
                    await asyncio.to_thread(spool.write, bytes(data))
                    data.clear()
            self._parser.finalize()
        except ClientDisconnect:
            raise UploadError(499, "The client went away during the upload.") from None
        except MultipartParseError:
            raise UploadError(400, "The multipart body is malformed.") from None
        if self._state.files_seen == 0:
            raise UploadError(400, "Missing required parameter: 'file'.", FILE_FIELD)
        if spool is not None:
            spool.seek(0)
            while piece := await asyncio.to_thread(spool.read, CHUNK_BYTES):
                await sink(self.form, piece)
            spool.close()
        await self._drain(sink, final=True)

    async def _drain(self, sink: Sink, *, final: bool) -> None:
        data = self._state.file_data
        while len(data) >= CHUNK_BYTES or (final and data):
            piece = bytes(data[:CHUNK_BYTES])
            del data[:CHUNK_BYTES]
            await sink(self.form, piece)
