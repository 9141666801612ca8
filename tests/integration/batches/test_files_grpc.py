"""FileService and BatchService over real gRPC stubs: client-streamed upload, server-streamed content in chunks
of at most 1 MiB, the upload protocol's errors; and the façade over the TCP transport (split core/façade)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aqueduct.v1 import batch_service_pb2, batch_service_pb2_grpc, file_service_pb2, file_service_pb2_grpc

from tests.integration.batches.conftest import batch_config, chat_line, client, jsonl, new_user, upload, wait_ended
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway

MIB = 1024 * 1024


def _stubs(gateway: Gateway) -> tuple[grpc.Channel, file_service_pb2_grpc.FileServiceStub]:
    channel = grpc.insecure_channel(gateway.core_target)
    return channel, file_service_pb2_grpc.FileServiceStub(channel)


def _requests(data: bytes, piece: int) -> Iterator[file_service_pb2.CreateFileRequest]:
    yield file_service_pb2.CreateFileRequest(
        metadata=file_service_pb2.FileUploadMetadata(filename="g.bin", purpose="user_data")
    )
    for start in range(0, len(data), piece):
        yield file_service_pb2.CreateFileRequest(chunk=data[start : start + piece])


def test_grpc_upload_and_chunked_download(gateway: Gateway) -> None:
    md = (("authorization", f"Bearer {new_user(gateway)}"),)
    channel, files = _stubs(gateway)
    try:
        data = bytes(range(256)) * 12_000  # ~3 MB, sent in odd-sized pieces
        made = files.CreateFile(_requests(data, 700_001), metadata=md).file
        assert made.bytes == len(data) and made.name.startswith("files/file-") and made.user.startswith("users/")
        chunks = [
            m.chunk for m in files.GetFileContent(file_service_pb2.GetFileContentRequest(name=made.name), metadata=md)
        ]
        assert b"".join(chunks) == data and max(map(len, chunks)) <= MIB and len(chunks) >= 3
        page = files.ListFiles(file_service_pb2.ListFilesRequest(page_size=1), metadata=md)
        assert [f.name for f in page.files] == [made.name]
        assert files.DeleteFile(file_service_pb2.DeleteFileRequest(name=made.name), metadata=md).name == made.name
    finally:
        channel.close()


def test_grpc_upload_protocol_errors(gateway: Gateway) -> None:
    md = (("authorization", f"Bearer {new_user(gateway)}"),)
    channel, files = _stubs(gateway)
    try:
        bad_streams = [
            iter([file_service_pb2.CreateFileRequest(chunk=b"x")]),  # no metadata first
            iter([]),  # nothing at all
            iter(
                [
                    *_requests(b"ab", 1),
                    file_service_pb2.CreateFileRequest(metadata=file_service_pb2.FileUploadMetadata()),
                ]
            ),
        ]
        for stream in bad_streams:
            with pytest.raises(grpc.RpcError) as caught:
                files.CreateFile(stream, metadata=md)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as caught:
            files.CreateFile(_requests(b"x", 1))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as caught:
            files.ListFiles(file_service_pb2.ListFilesRequest(all=True), metadata=md)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        batches = batch_service_pb2_grpc.BatchServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            batches.GetBatch(batch_service_pb2.GetBatchRequest(name="batches/batch_nope"), metadata=md)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        channel.close()


def test_facade_over_tcp_transport(upstream: FakeUpstream, tmp_path: Path) -> None:
    config = batch_config(upstream.url, f"sqlite:///{tmp_path / 'a.db'}")
    gw = Gateway(config, tmp_path, env={"AQUEDUCT_CORE_TRANSPORT": "tcp"}).start()
    try:
        sdk = client(gw, gw.create_user_token("tcp", f"u{uuid.uuid4().hex[:6]}@example.com"))
        data = b"0123456789" * 300_000
        made = upload(sdk, data, purpose="user_data")
        assert sdk.files.content(made.id).content == data
        batch = sdk.batches.create(
            input_file_id=upload(sdk, jsonl([chat_line("a")])).id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
        assert wait_ended(sdk, batch.id).status == "completed"
    finally:
        gw.stop()
