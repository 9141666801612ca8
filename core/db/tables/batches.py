"""Batches (/v1/batches) and their lines. The lines' state lives here, so a batch survives the process that
ran it: a line is claimed by one worker with a lease, and its result is written once, by the worker that still
holds the claim (core.batches.store)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlmodel import Field, SQLModel

from core.db.ids import ID_LENGTH
from core.db.tables.files import FILE_ID_LENGTH
from core.db.types import UtcDateTime, utcnow

BATCH_ID_LENGTH = 40  # "batch_" + new_id()
STATUS_LENGTH = 16
ENDPOINT_LENGTH = 64
CUSTOM_ID_LENGTH = 512
WORKER_ID_LENGTH = 64


class BatchRow(SQLModel, table=True):
    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_status", "status"),
        Index("ix_batches_org_id_user_id", "org_id", "user_id"),
        Index("ix_batches_team_id", "team_id"),
    )

    id: str = Field(primary_key=True, max_length=BATCH_ID_LENGTH)
    org_id: str | None = Field(default=None, max_length=ID_LENGTH)
    user_id: str | None = Field(default=None, max_length=ID_LENGTH)
    team_id: str | None = Field(default=None, max_length=ID_LENGTH)
    # The creator's principal (JSON): every line runs as a live request of this caller would.
    creator_json: str = Field(sa_type=Text)
    endpoint: str = Field(max_length=ENDPOINT_LENGTH)
    input_file_id: str = Field(max_length=FILE_ID_LENGTH)
    completion_window: str = Field(sa_type=String(STATUS_LENGTH))
    status: str = Field(sa_type=String(STATUS_LENGTH))
    metadata_json: str = Field(default="{}", sa_type=Text)
    errors_json: str = Field(default="[]", sa_type=Text)
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = Field(default=None, max_length=FILE_ID_LENGTH)
    error_file_id: str | None = Field(default=None, max_length=FILE_ID_LENGTH)
    # Validation and finalization are claimed as a whole, like lines.
    claimed_by: str | None = Field(default=None, max_length=WORKER_ID_LENGTH)
    claim_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    in_progress_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finalizing_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    expired_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancelling_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class BatchLineRow(SQLModel, table=True):
    """One input line. state: pending -> running (claimed) -> done | failed; a running line whose claim ran
    out is pending again for whoever claims it next."""

    __tablename__ = "batch_lines"
    __table_args__ = (Index("ix_batch_lines_batch_id_state", "batch_id", "state"),)

    batch_id: str = Field(primary_key=True, max_length=BATCH_ID_LENGTH)
    line_no: int = Field(primary_key=True)
    custom_id: str = Field(max_length=CUSTOM_ID_LENGTH)
    body: str = Field(sa_type=Text)
    state: str = Field(sa_type=String(STATUS_LENGTH))
    claimed_by: str | None = Field(default=None, max_length=WORKER_ID_LENGTH)
    claim_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The finished line as it goes into the output (or error) file, one JSON object.
    result: str | None = Field(default=None, sa_type=Text)
