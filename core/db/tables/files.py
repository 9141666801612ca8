"""Files (/v1/files) and, for the `database` storage backend, their bytes in chunks.

A file belongs to a user (personal tokens) or a team (service-account tokens), inside an org. No foreign keys
to tenancy: a file outlives neither, but the sweeper and the tenancy deletes must not deadlock on each other."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from core.db.ids import ID_LENGTH
from core.db.types import UtcDateTime, utcnow

FILE_ID_LENGTH = 40  # "file-" + new_id()
FILENAME_LENGTH = 255
PURPOSE_LENGTH = 32
STORAGE_KEY_LENGTH = 255


class FileRow(SQLModel, table=True):
    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_org_id_user_id", "org_id", "user_id"),
        Index("ix_files_team_id", "team_id"),
        Index("ix_files_expires_at", "expires_at"),
    )

    id: str = Field(primary_key=True, max_length=FILE_ID_LENGTH)
    org_id: str | None = Field(default=None, max_length=ID_LENGTH)
    user_id: str | None = Field(default=None, max_length=ID_LENGTH)
    team_id: str | None = Field(default=None, max_length=ID_LENGTH)
    filename: str = Field(max_length=FILENAME_LENGTH)
    purpose: str = Field(sa_type=String(PURPOSE_LENGTH))
    bytes: int = Field(sa_type=BigInteger)
    # Where the bytes are, relative to the configured backend (core.files.storage).
    storage_key: str = Field(max_length=STORAGE_KEY_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class FileChunkRow(SQLModel, table=True):
    """The `database` backend's bytes: a file's chunks in order (at most 1 MiB each)."""

    __tablename__ = "file_chunks"

    storage_key: str = Field(primary_key=True, max_length=STORAGE_KEY_LENGTH)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_type=LargeBinary)
