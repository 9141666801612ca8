"""What a file is to the rest of core: its metadata view and the purposes and bounds OpenAI documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.db.ids import new_id

UPLOAD_PURPOSES = frozenset({"batch", "user_data", "assistants", "vision", "evals", "fine-tune"})
# Files the gateway writes (batch output and error files); never accepted on upload.
OUTPUT_PURPOSE = "batch_output"
EXPIRY_ANCHOR = "created_at"
# OpenAI's bounds for expires_after.seconds: one hour to thirty days.
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 30 * 24 * 3600
MAX_FILENAME_CHARS = 255
FILE_ID_PREFIX = "file-"


def new_file_id() -> str:
    return FILE_ID_PREFIX + new_id()


@dataclass(frozen=True, slots=True)
class FileView:
    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: datetime
    expires_at: datetime | None
    user: str  # `users/{email}` or ""
    team: str  # `orgs/{org}/teams/{team}` or ""
    storage_key: str


def file_id_of(name: str, field: str = "name") -> str:
    """`files/{id}` or a bare id -> the id (any other shape is simply not found later)."""
    return name.removeprefix("files/")
