"""What a batch is: statuses, endpoints, the view the servicer renders, and the ids."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from core.db.ids import new_id


class Status(enum.StrEnum):
    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


ACTIVE = (Status.VALIDATING, Status.IN_PROGRESS, Status.FINALIZING, Status.CANCELLING)
ENDED = (Status.FAILED, Status.COMPLETED, Status.EXPIRED, Status.CANCELLED)


class LineState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"  # a response, in the output file
    FAILED = "failed"  # an error, in the error file
    EXPIRED = "expired"  # not run before the window ended; in the error file as batch_expired
    CANCELLED = "cancelled"  # not run because the batch was cancelled; in neither file


# The batch endpoint -> the inference endpoint name routing and exclusions know.
ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/completions": "completion", "/v1/embeddings": "embedding"}
COMPLETION_WINDOWS = ("24h",)
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512
BATCH_ID_PREFIX = "batch_"
REQUEST_ID_PREFIX = "batch_req_"


def new_batch_id() -> str:
    return BATCH_ID_PREFIX + new_id()


def new_request_id() -> str:
    return REQUEST_ID_PREFIX + new_id()


def batch_id_of(name: str) -> str:
    return name.removeprefix("batches/")


@dataclass(frozen=True, slots=True)
class LineError:
    code: str
    message: str
    param: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    completed: int
    failed: int


@dataclass(frozen=True, slots=True)
class BatchView:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    status: Status
    output_file_id: str | None
    error_file_id: str | None
    errors: list[LineError]
    counts: Counts
    metadata: dict[str, str]
    user: str
    team: str
    times: dict[str, datetime | None] = field(default_factory=dict)
