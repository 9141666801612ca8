"""Usage rollups: per-minute and per-hour sums of usage_records, maintained by the usage writer in the same
transaction as the raw rows, so reports over long ranges never scan the raw table.

A row is one bucket of one combination of the dimensions reports filter and group by. Dimension columns are
never NULL ('' instead): a unique key must see two "no end user" rows as equal, and SQL's NULLs are not.
`dims_hash` is a digest of the dimensions so the unique key (and its index) stays short."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db.ids import ID_LENGTH
from core.db.tables.usage import (
    END_USER_LENGTH,
    MCP_METHOD_LENGTH,
    MCP_NAME_LENGTH,
    MCP_SERVER_LENGTH,
    METHOD_LENGTH,
    MODEL_LENGTH,
    PATH_LENGTH,
)
from core.db.types import UtcDateTime
from core.usage.histogram import COLUMNS as LATENCY_COLUMNS

DIMS_HASH_LENGTH = 32
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


def _latency_columns() -> dict[str, Any]:
    return {name: Column(name, BigInteger(), nullable=False, server_default="0") for name in LATENCY_COLUMNS}


def _rollup_table_args(table: str) -> tuple[Any, ...]:
    return (
        UniqueConstraint("bucket_start", "dims_hash", name=f"uq_{table}_bucket_dims"),
        Index(f"ix_{table}_bucket_start", "bucket_start"),
        Index(f"ix_{table}_org_id_bucket_start", "org_id", "bucket_start"),
        Index(f"ix_{table}_user_id_bucket_start", "user_id", "bucket_start"),
        Index(f"ix_{table}_token_id_bucket_start", "token_id", "bucket_start"),
        Index(f"ix_{table}_end_user_id_bucket_start", "end_user_id", "bucket_start"),
    )


class _RollupColumns(SQLModel):
    id: int | None = Field(default=None, primary_key=True, sa_type=_ROW_ID)
    bucket_start: datetime = Field(sa_type=UtcDateTime)
    dims_hash: str = Field(max_length=DIMS_HASH_LENGTH)
    token_id: str = Field(default="", max_length=ID_LENGTH)
    user_id: str = Field(default="", max_length=ID_LENGTH)
    org_id: str = Field(default="", max_length=ID_LENGTH)
    team_id: str = Field(default="", max_length=ID_LENGTH)
    service_account_id: str = Field(default="", max_length=ID_LENGTH)
    end_user_id: str = Field(default="", max_length=END_USER_LENGTH)
    model: str = Field(default="", max_length=MODEL_LENGTH)
    endpoint_method: str = Field(default="", sa_type=String(METHOD_LENGTH))
    endpoint_path: str = Field(default="", max_length=PATH_LENGTH)
    status: int = 0
    mcp_server: str = Field(default="", max_length=MCP_SERVER_LENGTH, sa_column_kwargs={"server_default": ""})
    mcp_method: str = Field(default="", max_length=MCP_METHOD_LENGTH, sa_column_kwargs={"server_default": ""})
    mcp_name: str = Field(default="", max_length=MCP_NAME_LENGTH, sa_column_kwargs={"server_default": ""})
    requests: int = Field(default=0, sa_type=BigInteger)
    failed: int = Field(default=0, sa_type=BigInteger)
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    latency_ms_sum: float = Field(default=0.0, sa_type=Float)
    characters: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    images: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    audio_seconds: float = Field(default=0.0, sa_type=Float, sa_column_kwargs={"server_default": "0"})


class UsageRollupMinuteRow(_RollupColumns, table=True):
    __tablename__ = "usage_rollups_minute"
    __table_args__ = _rollup_table_args("usage_rollups_minute")


class UsageRollupHourRow(_RollupColumns, table=True):
    __tablename__ = "usage_rollups_hour"
    __table_args__ = _rollup_table_args("usage_rollups_hour")


# The latency histogram columns (lat_00 ... lat_41) are plain Core columns: 42 typed model fields would only
# be noise, and they are read and written through the Table anyway.
for _name in ("usage_rollups_minute", "usage_rollups_hour"):
    for _column in _latency_columns().values():
        SQLModel.metadata.tables[_name].append_column(_column)
