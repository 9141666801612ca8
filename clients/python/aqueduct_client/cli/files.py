"""`aqueduct files list|show|delete`: uploaded and batch-written files (FileService). Users see their own
(service accounts their team's); admins list every org's with --all."""

from __future__ import annotations

import argparse
import sys

from aqueduct.v1 import file_pb2, file_service_pb2, file_service_pb2_grpc

from aqueduct_client.cli._command import LIST_PAGE_SIZE, SubParsers, add_json_flag, add_noun, all_pages
from aqueduct_client.cli._output import Row, print_one, print_rows, timestamp_to_iso
from aqueduct_client.cli._service_command import add_service_verb

Stub = file_service_pb2_grpc.FileServiceStub
COLUMNS = ("id", "filename", "purpose", "bytes", "created", "expires", "owner")


def file_id(name: str) -> str:
    return name.removeprefix("files/")


def file_row(f: file_pb2.File) -> Row:
    return {
        "id": file_id(f.name),
        "filename": f.filename,
        "purpose": f.purpose,
        "bytes": f.bytes,
        "created": timestamp_to_iso(f.create_time),
        "expires": timestamp_to_iso(f.expire_time) if f.HasField("expire_time") else None,
        "owner": f.user or f.team,
    }


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "files", "list, show and delete files", aliases=["file"])
    listing = add_service_verb(verbs, "list", "list files, newest first", Stub, _list)
    listing.add_argument("--purpose", default="", help="only files of this purpose (e.g. batch, batch_output)")
    listing.add_argument("--all", action="store_true", help="every org's files (admins)")
    add_json_flag(listing)
    show = add_service_verb(verbs, "show", "show one file", Stub, _show)
    show.add_argument("id", help="the file id (file-...)")
    add_json_flag(show)
    delete = add_service_verb(verbs, "delete", "delete a file and its bytes", Stub, _delete)
    delete.add_argument("id", help="the file id (file-...)")


def _list(args: argparse.Namespace, stub: Stub) -> int:
    pages = all_pages(
        lambda token: stub.ListFiles(
            file_service_pb2.ListFilesRequest(
                purpose=args.purpose, all=args.all, page_size=LIST_PAGE_SIZE, page_token=token
            )
        )
    )
    print_rows([file_row(f) for page in pages for f in page.files], COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _show(args: argparse.Namespace, stub: Stub) -> int:
    reply = stub.GetFile(file_service_pb2.GetFileRequest(name=f"files/{file_id(args.id)}"))
    print_one(file_row(reply.file), COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _delete(args: argparse.Namespace, stub: Stub) -> int:
    reply = stub.DeleteFile(file_service_pb2.DeleteFileRequest(name=f"files/{file_id(args.id)}"))
    print(f"deleted {file_id(reply.name)}")
    return 0
