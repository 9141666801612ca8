"""Audio uploads (multipart/form-data) read as they arrive and handed to core as a client stream.

The body is parsed incrementally (python-multipart) while it is read from the socket, never held whole. The text
fields come first in what the OpenAI SDKs send, so the file's bytes go on to core as they arrive. A form that
puts the file first (`curl -F file=@a.mp3 -F model=...`) is held until its model field has been read (at most
the upload limit); core needs the model before it can choose an upstream.

Size bounds, per endpoint: the file may be `max_upload_bytes` (OpenAI's 25 MB); the body that long plus
FORM_FIELDS_ALLOWANCE for the other fields. A declared Content-Length above that is a 413 before anything is read;
so is one that says the file (the last part, as the SDKs send it) is over the limit, before any of it is forwarded;
otherwise the counts are checked as the bytes arrive. These bodies are not bound by max_request_body_bytes (the
JSON endpoints' cap): they are streamed, not buffered."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from aqueduct_openai import CodecError, transcription_params_from_form

from .edge import EdgeRejection, declared_length, too_large
from .errors import OpenAIError, cancelled, invalid_request
from .settings import FacadeSettings

# Room for the form's text fields (prompt, language, ...) and the parts' headers beyond the file itself.
FORM_FIELDS_ALLOWANCE = 1024 * 1024
# One text field's largest value.
MAX_FIELD_BYTES = 64 * 1024
_FILE_FIELD = "file"


class _FileTooLarge(Exception):
    """Raised from a parser callback: the file is over the limit."""


def _bad(message: str, param: str | None = None) -> EdgeRejection:
    return EdgeRejection(invalid_request(message, param))


class UploadReader:
    """One multipart upload. `start()` reads up to the file (or the whole form, if the file comes first) and
    returns the params; `messages(make)` then yields core's request messages: the params, then the file's
    chunks as they arrive. A failure after `start()` ends the messages, records `error` and calls the hook
    given to `on_error` (the route cancels the call and answers with `error`)."""

    def __init__(self, request: Request, settings: FacadeSettings, *, translate: bool) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type"))
        boundary = options.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise _bad("The request must be multipart/form-data with the audio in a 'file' field.")
        self._max_file = settings.max_upload_bytes
        self._max_body = settings.max_upload_bytes + FORM_FIELDS_ALLOWANCE
        self._declared = declared_length(request)
        if self._declared is not None and self._declared > self._max_body:
            raise too_large(self._max_file, "audio file")
        # The close delimiter and the CRLF that usually follows it: what the body holds after the last part.
        self._closing = len(b"\r\n--" + boundary + b"--\r\n")
        self._request = request
        self._translate = translate
        self._body = request.stream().__aiter__()
        self._consumed = 0
        self._chunk_start = 0
        self._ended = False
        self._complete = False
        self._streaming = False
        self.error: OpenAIError | None = None
        self._on_error: Callable[[], object] | None = None
        # The part being parsed.
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._value = bytearray()
        self._in_file = False
        # The form so far.
        self._fields: list[tuple[str, str]] = []
        self._file_name: str | None = None
        self._file_type = ""
        self._file_offset: int | None = None
        self._file_size = 0
        self._pending: list[bytes] = []
        self._late_field: str | None = None
        self._model_before_file = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": lambda d, s, e: self._header_name.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    # --- reading ------------------------------------------------------------------------------------------
    async def start(self) -> Any:
        """Reads until the file has begun and the model is known, or to the end of the form; returns the
        params (TranscriptionParams). Raises EdgeRejection (400, 413, 499)."""
        while not self._ended and not self._model_before_file:
            await self._feed_next()
        if self._file_name is None:
            raise _bad("Missing required parameter: 'file'.", "file")
        try:
            params = transcription_params_from_form(
                self._fields, translate=self._translate, file_name=self._file_name, file_content_type=self._file_type
            )
        except CodecError as exc:
            raise EdgeRejection(invalid_request(exc.message, exc.field)) from None
        if self._ended:
            params.file_size = self._file_size
        self._streaming = True
        return params

    def on_error(self, hook: Callable[[], object]) -> None:
        self._on_error = hook

    async def messages(self, make: Callable[..., Any], params: Any) -> AsyncIterator[Any]:
        """`make(params=...)` first, then `make(file_chunk=...)` per chunk as the body arrives."""
        yield make(params=params)
        while True:
            while self._pending:
                chunk = self._pending.pop(0)
                yield make(file_chunk=chunk)
            if self._ended:
                return
            try:
                await self._feed_next()
            except EdgeRejection as rejected:
                self.error = rejected.error
                if self._on_error is not None:
                    self._on_error()
                return

    async def _feed_next(self) -> None:
        try:
            chunk = await anext(self._body, b"")
        except ClientDisconnect:
            raise EdgeRejection(cancelled()) from None
        if not chunk:
            self._ended = True
            if not self._complete:
                raise _bad("The multipart body ended before its closing boundary.")
            return
        self._chunk_start = self._consumed
        self._consumed += len(chunk)
        if self._consumed > self._max_body:
            raise too_large(self._max_file, "audio file")
        try:
            self._parser.write(chunk)
        except _FileTooLarge:
            raise too_large(self._max_file, "audio file") from None
        except MultipartParseError:
            raise _bad("The multipart body is malformed.") from None
        if self._late_field is not None:
            raise _bad(
                f"The form field '{self._late_field}' follows the file; send the text fields before the file.",
                self._late_field,
            )
        if self._file_size > self._max_file:
            raise too_large(self._max_file, "audio file")

    def _has_model(self) -> bool:
        return any(name == "model" for name, _ in self._fields)

    # --- parser callbacks ----------------------------------------------------------------------------------
    def _part_begin(self) -> None:
        self._headers = {}
        self._value = bytearray()
        self._in_file = False

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name != _FILE_FIELD:
            return
        if self._file_name is not None:
            raise MultipartParseError("two file parts")
        self._in_file = True
        self._file_name = options.get(b"filename", b"audio").decode("utf-8", "replace")
        self._file_type = self._headers.get(b"content-type", b"").decode("latin-1")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            if len(self._value) + end - start > MAX_FIELD_BYTES:
                raise MultipartParseError("field too large")
            self._value.extend(data[start:end])
            return
        if self._file_offset is None:
            self._file_offset = self._chunk_start + start
            self._model_before_file = self._has_model()
            declared = self._declared
            # The file is the last part as the SDKs send it: the declared length then says its size, and a file
            # over the limit is refused before a byte of it is forwarded.
            if declared is not None and declared - self._file_offset - self._closing > self._max_file:
                raise _FileTooLarge
        self._file_size += end - start
        self._pending.append(data[start:end])

    def _part_end(self) -> None:
        if self._in_file:
            if self._file_offset is None:  # an empty file
                self._file_offset = self._consumed
                self._model_before_file = self._has_model()
            return
        value = self._value.decode("utf-8", "replace")
        if self._streaming:
            self._late_field = self._name
        self._fields.append((self._name, value))

    def _end(self) -> None:
        self._complete = True
