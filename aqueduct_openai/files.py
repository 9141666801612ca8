"""Files and batches: OpenAI's file and batch objects, their lists, and the batch create body (the files API's
requests are multipart, read by the façade; only the objects are JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aqueduct.v1 import batch_pb2, file_pb2

from .common import CodecError, JsonObject

_BATCH_STATUS = {
    batch_pb2.BATCH_STATUS_VALIDATING: "validating",
    batch_pb2.BATCH_STATUS_FAILED: "failed",
    batch_pb2.BATCH_STATUS_IN_PROGRESS: "in_progress",
    batch_pb2.BATCH_STATUS_FINALIZING: "finalizing",
    batch_pb2.BATCH_STATUS_COMPLETED: "completed",
    batch_pb2.BATCH_STATUS_EXPIRED: "expired",
    batch_pb2.BATCH_STATUS_CANCELLING: "cancelling",
    batch_pb2.BATCH_STATUS_CANCELLED: "cancelled",
}
# OpenAI's timestamp key -> the Batch field.
_BATCH_TIMES = (
    ("created_at", "create_time"),
    ("in_progress_at", "in_progress_time"),
    ("expires_at", "expire_time"),
    ("finalizing_at", "finalizing_time"),
    ("completed_at", "complete_time"),
    ("failed_at", "fail_time"),
    ("expired_at", "expired_time"),
    ("cancelling_at", "cancelling_time"),
    ("cancelled_at", "cancel_time"),
)


def resource_id(name: str) -> str:
    """`files/{id}` / `batches/{id}` -> the id OpenAI shows."""
    return name.rpartition("/")[2]


def _seconds(message: Any, field: str) -> int | None:
    return message.__getattribute__(field).seconds if message.HasField(field) else None


def file_to_json(f: file_pb2.File) -> JsonObject:
    return {
        "id": resource_id(f.name),
        "object": "file",
        "bytes": f.bytes,
        "created_at": f.create_time.seconds,
        "expires_at": _seconds(f, "expire_time"),
        "filename": f.filename,
        "purpose": f.purpose,
        "status": "processed",
        "status_details": None,
    }


def file_deleted_json(name: str) -> JsonObject:
    return {"id": resource_id(name), "object": "file", "deleted": True}


def list_json(data: Sequence[JsonObject], has_more: bool) -> JsonObject:
    """OpenAI's cursor page: `after` takes last_id."""
    return {
        "object": "list",
        "data": list(data),
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def batch_to_json(b: batch_pb2.Batch) -> JsonObject:
    out: JsonObject = {
        "id": resource_id(b.name),
        "object": "batch",
        "endpoint": b.endpoint,
        "errors": None,
        "input_file_id": resource_id(b.input_file),
        "completion_window": b.completion_window,
        "status": _BATCH_STATUS.get(b.status, "validating"),
        "output_file_id": resource_id(b.output_file) if b.output_file else None,
        "error_file_id": resource_id(b.error_file) if b.error_file else None,
    }
    for key, field in _BATCH_TIMES:
        out[key] = _seconds(b, field)
    out["request_counts"] = {
        "total": b.request_counts.total,
        "completed": b.request_counts.completed,
        "failed": b.request_counts.failed,
    }
    out["metadata"] = dict(b.metadata) or None
    if b.errors:
        out["errors"] = {
            "object": "list",
            "data": [
                {"code": e.code, "message": e.message, "param": e.param or None, "line": e.line or None}
                for e in b.errors
            ],
        }
    return out


def batch_create_from_json(body: Any) -> tuple[str, str, str, dict[str, str]]:
    """(input_file_id, endpoint, completion_window, metadata) of a `POST /v1/batches` body."""
    if not isinstance(body, dict):
        raise CodecError("The request body must be a JSON object.")
    values = []
    for key in ("input_file_id", "endpoint", "completion_window"):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            raise CodecError(f"Missing required parameter: '{key}'.", key)
        values.append(value)
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CodecError("metadata must be an object of string values.", "metadata")
    return values[0], values[1], values[2], metadata
