"""`aqueduct batches list|show|cancel|watch`: batches run by the gateway (BatchService). `watch` follows one
batch with a live progress bar (done / failed / total, rate, ETA) until it ends."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from aqueduct.v1 import batch_pb2, batch_service_pb2, batch_service_pb2_grpc

from aqueduct_client.cli._command import LIST_PAGE_SIZE, SubParsers, add_json_flag, add_noun, all_pages
from aqueduct_client.cli._output import Row, print_one, print_rows, timestamp_to_iso
from aqueduct_client.cli._service_command import add_service_verb

Stub = batch_service_pb2_grpc.BatchServiceStub
COLUMNS = ("id", "status", "endpoint", "total", "completed", "failed", "created", "owner")
ENDED = frozenset(
    {
        batch_pb2.BATCH_STATUS_COMPLETED,
        batch_pb2.BATCH_STATUS_FAILED,
        batch_pb2.BATCH_STATUS_EXPIRED,
        batch_pb2.BATCH_STATUS_CANCELLED,
    }
)
BAR_WIDTH = 30


def batch_id(name: str) -> str:
    return name.removeprefix("batches/")


def status_text(status: int) -> str:
    return batch_pb2.BatchStatus.Name(status).removeprefix("BATCH_STATUS_").lower()  # type: ignore[arg-type]


def batch_row(b: batch_pb2.Batch) -> Row:
    counts = b.request_counts
    return {
        "id": batch_id(b.name),
        "status": status_text(b.status),
        "endpoint": b.endpoint,
        "total": counts.total,
        "completed": counts.completed,
        "failed": counts.failed,
        "created": timestamp_to_iso(b.create_time),
        "input_file": b.input_file.removeprefix("files/"),
        "output_file": b.output_file.removeprefix("files/") or None,
        "error_file": b.error_file.removeprefix("files/") or None,
        "owner": b.user or b.team,
        "errors": "; ".join(f"line {e.line}: {e.code}" if e.line else e.code for e in b.errors) or None,
    }


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "batches", "list, show, cancel and watch batches", aliases=["batch"])
    listing = add_service_verb(verbs, "list", "list batches, newest first", Stub, _list)
    listing.add_argument("--all", action="store_true", help="every org's batches (admins)")
    add_json_flag(listing)
    show = add_service_verb(verbs, "show", "show one batch", Stub, _show)
    show.add_argument("id", help="the batch id (batch_...)")
    add_json_flag(show)
    cancel = add_service_verb(verbs, "cancel", "cancel a batch (lines already done stay in its output)", Stub, _cancel)
    cancel.add_argument("id", help="the batch id (batch_...)")
    watch = add_service_verb(verbs, "watch", "follow a batch with a progress bar until it ends", Stub, _watch)
    watch.add_argument("id", help="the batch id (batch_...)")
    watch.add_argument("--interval", type=float, default=1.0, help="seconds between updates (default 1)")


def _list(args: argparse.Namespace, stub: Stub) -> int:
    pages = all_pages(
        lambda token: stub.ListBatches(
            batch_service_pb2.ListBatchesRequest(all=args.all, page_size=LIST_PAGE_SIZE, page_token=token)
        )
    )
    print_rows([batch_row(b) for page in pages for b in page.batches], COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _show(args: argparse.Namespace, stub: Stub) -> int:
    reply = stub.GetBatch(batch_service_pb2.GetBatchRequest(name=f"batches/{batch_id(args.id)}"))
    columns = (*COLUMNS, "output_file", "error_file", "errors")
    print_one(batch_row(reply.batch), columns, as_json=args.json, out=sys.stdout)
    return 0


def _cancel(args: argparse.Namespace, stub: Stub) -> int:
    reply = stub.CancelBatch(batch_service_pb2.CancelBatchRequest(name=f"batches/{batch_id(args.id)}"))
    print(f"{batch_id(reply.batch.name)} {status_text(reply.batch.status)}")
    return 0


def progress_line(b: batch_pb2.Batch, rate: float | None) -> str:
    """`[#####-----] 120 done, 3 failed / 500  40.0 lines/s  ETA 10s  in_progress`."""
    counts = b.request_counts
    finished = counts.completed + counts.failed
    share = finished / counts.total if counts.total else 0.0
    filled = int(share * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    text = f"[{bar}] {counts.completed} done, {counts.failed} failed / {counts.total}"
    if rate is not None:
        text += f"  {rate:.1f} lines/s"
        if rate > 0 and counts.total > finished:
            text += f"  ETA {int((counts.total - finished) / rate)}s"
    return f"{text}  {status_text(b.status)}"


def _watch(args: argparse.Namespace, stub: Stub, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    live = out.isatty()
    name = f"batches/{batch_id(args.id)}"
    first: tuple[float, int] | None = None
    while True:
        batch = stub.GetBatch(batch_service_pb2.GetBatchRequest(name=name)).batch
        now = time.monotonic()
        finished = batch.request_counts.completed + batch.request_counts.failed
        rate = None
        if first is None:
            first = (now, finished)
        elif now > first[0]:
            rate = (finished - first[1]) / (now - first[0])
        line = progress_line(batch, rate)
        print(("\r" + line) if live else line, end="" if live else "\n", file=out, flush=True)
        if batch.status in ENDED:
            if live:
                print(file=out)
            return 0 if batch.status == batch_pb2.BATCH_STATUS_COMPLETED else 1
        time.sleep(args.interval)
