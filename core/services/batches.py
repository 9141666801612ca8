"""BatchService servicer: proto in, Batches call with the current principal, proto out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from aqueduct.v1 import batch_pb2, batch_service_pb2_grpc
from aqueduct.v1 import batch_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from core.auth.principal import current_principal
from core.batches.batches import Batches
from core.batches.model import BatchView, Status, batch_id_of

Context = grpc.aio.ServicerContext[Any, Any]

_STATUS = {
    Status.VALIDATING: batch_pb2.BATCH_STATUS_VALIDATING,
    Status.FAILED: batch_pb2.BATCH_STATUS_FAILED,
    Status.IN_PROGRESS: batch_pb2.BATCH_STATUS_IN_PROGRESS,
    Status.FINALIZING: batch_pb2.BATCH_STATUS_FINALIZING,
    Status.COMPLETED: batch_pb2.BATCH_STATUS_COMPLETED,
    Status.EXPIRED: batch_pb2.BATCH_STATUS_EXPIRED,
    Status.CANCELLING: batch_pb2.BATCH_STATUS_CANCELLING,
    Status.CANCELLED: batch_pb2.BATCH_STATUS_CANCELLED,
}
# Row column -> Batch field.
_TIME_FIELDS = {
    "created_at": "create_time",
    "in_progress_at": "in_progress_time",
    "expires_at": "expire_time",
    "finalizing_at": "finalizing_time",
    "completed_at": "complete_time",
    "failed_at": "fail_time",
    "expired_at": "expired_time",
    "cancelling_at": "cancelling_time",
    "cancelled_at": "cancel_time",
}


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def batch_message(view: BatchView) -> batch_pb2.Batch:
    message = batch_pb2.Batch(
        name=f"batches/{view.id}",
        endpoint=view.endpoint,
        input_file=f"files/{view.input_file_id}",
        completion_window=view.completion_window,
        status=_STATUS[view.status],
        output_file=f"files/{view.output_file_id}" if view.output_file_id else "",
        error_file=f"files/{view.error_file_id}" if view.error_file_id else "",
        errors=[batch_pb2.BatchError(code=e.code, message=e.message, param=e.param, line=e.line) for e in view.errors],
        request_counts=batch_pb2.BatchRequestCounts(
            total=view.counts.total, completed=view.counts.completed, failed=view.counts.failed
        ),
        metadata=view.metadata,
        user=view.user,
        team=view.team,
    )
    for column, field in _TIME_FIELDS.items():
        value = view.times.get(column)
        if value is not None:
            getattr(message, field).CopyFrom(_timestamp(value))
    return message


class BatchServicer(batch_service_pb2_grpc.BatchServiceServicer):
    def __init__(self, batches: Batches) -> None:
        self._batches = batches

    async def CreateBatch(self, request: pb.CreateBatchRequest, context: Context) -> pb.CreateBatchResponse:
        view = await self._batches.create(
            current_principal(), request.input_file, request.endpoint, request.completion_window, dict(request.metadata)
        )
        return pb.CreateBatchResponse(batch=batch_message(view))

    async def GetBatch(self, request: pb.GetBatchRequest, context: Context) -> pb.GetBatchResponse:
        return pb.GetBatchResponse(
            batch=batch_message(await self._batches.get(current_principal(), batch_id_of(request.name)))
        )

    async def ListBatches(self, request: pb.ListBatchesRequest, context: Context) -> pb.ListBatchesResponse:
        page = await self._batches.list_batches(
            current_principal(),
            page_size=request.page_size,
            page_token=request.page_token,
            after=request.after,
            all_orgs=request.all,
        )
        return pb.ListBatchesResponse(
            batches=[batch_message(v) for v in page.items], next_page_token=page.next_page_token
        )

    async def CancelBatch(self, request: pb.CancelBatchRequest, context: Context) -> pb.CancelBatchResponse:
        view = await self._batches.cancel(current_principal(), batch_id_of(request.name))
        return pb.CancelBatchResponse(batch=batch_message(view))
