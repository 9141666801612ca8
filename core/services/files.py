"""FileService servicer: proto in, Files call with the current principal, proto out. Uploads arrive as a
client stream (metadata, then chunks), content leaves as a server stream of chunks."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import grpc
from aqueduct.v1 import file_pb2, file_service_pb2_grpc
from aqueduct.v1 import file_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from core.auth.principal import current_principal
from core.errors import InvalidRequest
from core.files.files import Files, UploadMeta
from core.files.model import FileView, file_id_of

Context = grpc.aio.ServicerContext[Any, Any]


def _timestamp(value: Any) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def file_message(view: FileView) -> file_pb2.File:
    message = file_pb2.File(
        name=f"files/{view.id}",
        filename=view.filename,
        purpose=view.purpose,
        bytes=view.bytes,
        create_time=_timestamp(view.created_at),
        user=view.user,
        team=view.team,
    )
    if view.expires_at is not None:
        message.expire_time.CopyFrom(_timestamp(view.expires_at))
    return message


async def _upload(requests: AsyncIterable[pb.CreateFileRequest]) -> tuple[UploadMeta, AsyncIterator[bytes]]:
    iterator = aiter(requests)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        raise InvalidRequest("The upload carried no metadata.", field="metadata") from None
    if first.WhichOneof("part") != "metadata":
        raise InvalidRequest("The first message of an upload must carry its metadata.", field="metadata")
    meta = first.metadata

    async def chunks() -> AsyncIterator[bytes]:
        async for request in iterator:
            if request.WhichOneof("part") != "chunk":
                raise InvalidRequest("Metadata may be sent only once, first.", field="metadata")
            yield request.chunk

    return (
        UploadMeta(
            filename=meta.filename,
            purpose=meta.purpose,
            expires_after_anchor=meta.expires_after_anchor,
            expires_after_seconds=meta.expires_after_seconds if meta.HasField("expires_after_seconds") else None,
            declared_bytes=meta.declared_bytes,
        ),
        chunks(),
    )


class FileServicer(file_service_pb2_grpc.FileServiceServicer):
    def __init__(self, files: Files) -> None:
        self._files = files

    async def CreateFile(
        self, request_iterator: AsyncIterable[pb.CreateFileRequest], context: Context
    ) -> pb.CreateFileResponse:
        meta, chunks = await _upload(request_iterator)
        return pb.CreateFileResponse(file=file_message(await self._files.create(current_principal(), meta, chunks)))

    async def GetFile(self, request: pb.GetFileRequest, context: Context) -> pb.GetFileResponse:
        view = await self._files.get(current_principal(), file_id_of(request.name))
        return pb.GetFileResponse(file=file_message(view))

    async def ListFiles(self, request: pb.ListFilesRequest, context: Context) -> pb.ListFilesResponse:
        page = await self._files.list_files(
            current_principal(),
            purpose=request.purpose,
            page_size=request.page_size,
            page_token=request.page_token,
            order=request.order,
            after=request.after,
            all_orgs=request.all,
        )
        return pb.ListFilesResponse(files=[file_message(v) for v in page.items], next_page_token=page.next_page_token)

    async def DeleteFile(self, request: pb.DeleteFileRequest, context: Context) -> pb.DeleteFileResponse:
        deleted = await self._files.delete(current_principal(), file_id_of(request.name))
        return pb.DeleteFileResponse(name=f"files/{deleted}")

    async def GetFileContent(
        self, request: pb.GetFileContentRequest, context: Context
    ) -> AsyncIterator[pb.GetFileContentResponse]:
        chunks = await self._files.content(current_principal(), file_id_of(request.name))
        async for chunk in chunks:
            yield pb.GetFileContentResponse(chunk=chunk)
