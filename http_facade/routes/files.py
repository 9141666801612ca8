"""/v1/files: multipart upload in (streamed to core's FileService.CreateFile in chunks), metadata, listing,
deletion, and the content streamed out (FileService.GetFileContent). Translation only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from aqueduct.v1 import file_service_pb2 as pb
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from aqueduct_openai import file_deleted_json, file_to_json, list_json

from ..edge import EdgeRejection, check_credential, declared_length
from ..errors import OpenAIError, error_response, from_rpc_error, invalid_request
from ..forwarding import Forwarded
from ..multipart_upload import Form, MultipartUpload, UploadError, boundary_of
from ._common import RouteDeps, endpoint_routes, unary
from ._listing import list_params

# Room for the form's other fields and part headers on top of the file itself, in the Content-Length check.
FORM_OVERHEAD_BYTES = 64 * 1024
# Chunks buffered between the HTTP body and the gRPC stream (backpressure beyond that).
_QUEUE_CHUNKS = 4


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _CallEnded(Exception):
    """Core answered before the upload ended (an error): stop reading the body."""


def _metadata(form: Form) -> pb.FileUploadMetadata:
    meta = pb.FileUploadMetadata(filename=form.filename or "", purpose=form.fields.get("purpose", ""))
    if not meta.purpose:
        raise UploadError(400, "Missing required parameter: 'purpose'.", "purpose")
    anchor = form.fields.get("expires_after[anchor]")
    seconds = form.fields.get("expires_after[seconds]")
    if anchor is not None:
        meta.expires_after_anchor = anchor
    if seconds is not None:
        try:
            meta.expires_after_seconds = int(seconds)
        except ValueError:
            raise UploadError(400, "expires_after[seconds] must be an integer.", "expires_after[seconds]") from None
    return meta


def _upload_error(error: UploadError) -> OpenAIError:
    kind = "invalid_request_error"
    code = "request_too_large" if error.status == 413 else None
    return OpenAIError(error.status, error.message, kind, param=error.param, code=code)


class _Upload:
    """The gRPC client stream of one upload: started when the metadata is known, fed chunk by chunk."""

    def __init__(self, deps: RouteDeps, fwd: Forwarded) -> None:
        self._deps = deps
        self._fwd = fwd
        self._queue: asyncio.Queue[pb.CreateFileRequest | None] = asyncio.Queue(_QUEUE_CHUNKS)
        self.call: grpc.aio.StreamUnaryCall[pb.CreateFileRequest, pb.CreateFileResponse] | None = None
        self._ended: asyncio.Future[None] | None = None

    async def _requests(self) -> AsyncIterator[pb.CreateFileRequest]:
        while (item := await self._queue.get()) is not None:
            yield item

    def start(self, form: Form) -> None:
        if self.call is not None:
            return
        self._queue.put_nowait(pb.CreateFileRequest(metadata=_metadata(form)))
        self.call = self._deps.core.files.CreateFile(self._requests(), metadata=self._fwd.metadata)
        ended = self._ended = asyncio.get_running_loop().create_future()
        self.call.add_done_callback(lambda _: _settle(ended))

    async def put(self, item: pb.CreateFileRequest | None) -> None:
        assert self._ended is not None
        put = asyncio.ensure_future(self._queue.put(item))
        await asyncio.wait({put, self._ended}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            raise _CallEnded

    async def sink(self, form: Form, piece: bytes) -> None:
        self.start(form)
        await self.put(pb.CreateFileRequest(chunk=piece))


def routes(deps: RouteDeps) -> list[Route]:
    settings = deps.settings

    async def create_file(request: Request) -> Response:
        fwd = deps.forward(request, "POST /v1/files")
        try:
            check_credential(fwd)
        except EdgeRejection as rejected:
            return error_response(rejected.error, fwd.request_id)
        upload = _Upload(deps, fwd)
        try:
            declared = declared_length(request)
            if declared is not None and declared > settings.max_file_bytes + FORM_OVERHEAD_BYTES:
                raise UploadError(413, f"The file is larger than the limit of {settings.max_file_bytes} bytes.")
            parser = MultipartUpload(boundary_of(request.headers.get("content-type")), settings.max_file_bytes)
            await parser.run(request, lambda form: "purpose" in form.fields, upload.sink)
            upload.start(parser.form)
            await upload.put(None)
        except UploadError as error:
            if upload.call is not None:
                upload.call.cancel()
            return error_response(_upload_error(error), fwd.request_id)
        except _CallEnded:
            pass
        assert upload.call is not None
        return await unary(upload.call, lambda r: file_to_json(r.file), fwd, request)  # type: ignore[arg-type]

    async def list_files(request: Request) -> Response:
        fwd = deps.forward(request, "GET /v1/files")
        try:
            limit, after, order = list_params(request, with_order=True)
        except ValueError as exc:
            return error_response(invalid_request(str(exc.args[0]), exc.args[1]), fwd.request_id)
        call = deps.core.files.ListFiles(
            pb.ListFilesRequest(
                purpose=request.query_params.get("purpose", ""), page_size=limit, order=order, after=after
            ),
            metadata=fwd.metadata,
        )

        def render(r: pb.ListFilesResponse) -> dict[str, Any]:
            return list_json([file_to_json(f) for f in r.files], bool(r.next_page_token))

        return await unary(call, render, fwd, request)

    async def get_file(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        fwd = deps.forward(request, "GET /v1/files/{file_id}")
        call = deps.core.files.GetFile(pb.GetFileRequest(name=f"files/{file_id}"), metadata=fwd.metadata)
        return await unary(call, lambda r: file_to_json(r.file), fwd, request)

    async def delete_file(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        fwd = deps.forward(request, "DELETE /v1/files/{file_id}")
        call = deps.core.files.DeleteFile(pb.DeleteFileRequest(name=f"files/{file_id}"), metadata=fwd.metadata)
        return await unary(call, lambda r: file_deleted_json(r.name), fwd, request)

    async def file_content(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        fwd = deps.forward(request, "GET /v1/files/{file_id}/content")
        call = deps.core.files.GetFileContent(pb.GetFileContentRequest(name=f"files/{file_id}"), metadata=fwd.metadata)
        # The first message (or the error) decides the status before any header is sent.
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as exc:
            return error_response(from_rpc_error(exc), fwd.request_id)

        async def body() -> AsyncIterator[bytes]:
            try:
                # read() only: grpc.aio refuses mixing it with async iteration on one call.
                message = first
                while isinstance(message, pb.GetFileContentResponse):
                    yield message.chunk
                    message = await call.read()
            finally:
                call.cancel()

        return StreamingResponse(
            body(), media_type="application/octet-stream", headers={"x-request-id": fwd.request_id}
        )

    return [
        *endpoint_routes("/files", create_file, "POST"),
        *endpoint_routes("/files", list_files, "GET"),
        *endpoint_routes("/files/{file_id}/content", file_content, "GET"),
        *endpoint_routes("/files/{file_id}", get_file, "GET"),
        *endpoint_routes("/files/{file_id}", delete_file, "DELETE"),
    ]
