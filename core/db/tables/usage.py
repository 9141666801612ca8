"""Usage records: one row per authenticated request, written in batches by core.usage.recorder.

No foreign keys: history outlives the tokens, users and teams it mentions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from core.db.ids import ID_LENGTH
from core.db.types import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")

REQUEST_ID_LENGTH = 128
MODEL_LENGTH = 255
METHOD_LENGTH = 16
PATH_LENGTH = 255
END_USER_LENGTH = 255
USER_AGENT_LENGTH = 512
CLIENT_ADDR_LENGTH = 128
MCP_SERVER_LENGTH = 64
MCP_METHOD_LENGTH = 128
MCP_NAME_LENGTH = 255


class UsageRecordRow(SQLModel, table=True):
    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_created_at", "created_at"),
        Index("ix_usage_records_token_id_created_at", "token_id", "created_at"),
        Index("ix_usage_records_org_id_created_at", "org_id", "created_at"),
        Index("ix_usage_records_user_id_created_at", "user_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_ROW_ID)
    request_id: str = Field(max_length=REQUEST_ID_LENGTH)
    created_at: datetime = Field(sa_type=UtcDateTime)
    token_id: str | None = Field(default=None, max_length=ID_LENGTH)
    user_id: str | None = Field(default=None, max_length=ID_LENGTH)
    org_id: str | None = Field(default=None, max_length=ID_LENGTH)
    team_id: str | None = Field(default=None, max_length=ID_LENGTH)
    service_account_id: str | None = Field(default=None, max_length=ID_LENGTH)
    end_user_id: str | None = Field(default=None, max_length=END_USER_LENGTH)
    model: str | None = Field(default=None, max_length=MODEL_LENGTH)
    deployment: str | None = Field(default=None, max_length=MODEL_LENGTH)
    endpoint_method: str = Field(sa_type=String(METHOD_LENGTH))
    endpoint_path: str = Field(max_length=PATH_LENGTH)
    status: int
    input_tokens: int
    output_tokens: int
    tokens_estimated: bool
    latency_ms: float
    ttft_ms: float | None = None
    user_agent: str | None = Field(default=None, max_length=USER_AGENT_LENGTH)
    client_addr: str | None = Field(default=None, max_length=CLIENT_ADDR_LENGTH)
    error_message: str | None = Field(default=None, sa_type=Text)
    # MCP proxy requests: the server, the JSON-RPC method, the tool / prompt name or resource URI, the
    # JSON-RPC error code of the answer (None: a result), and the bytes of the request and of the answer.
    mcp_server: str | None = Field(default=None, max_length=MCP_SERVER_LENGTH)
    mcp_method: str | None = Field(default=None, max_length=MCP_METHOD_LENGTH)
    mcp_name: str | None = Field(default=None, max_length=MCP_NAME_LENGTH)
    rpc_error_code: int | None = None
    bytes_in: int | None = Field(default=None, sa_type=BigInteger)
    bytes_out: int | None = Field(default=None, sa_type=BigInteger)
    # Media requests only: speech input characters, images generated, audio seconds transcribed.
    characters: int | None = Field(default=None, sa_type=BigInteger)
    images: int | None = Field(default=None, sa_type=BigInteger)
    audio_seconds: float | None = None


class UsageSpoolCheckpointRow(SQLModel, table=True):
    """Per process run, the highest usage-spool sequence number whose event is in usage_records; written in the
    same transaction as each batch, so a replay after a crash inserts exactly what is missing (core.usage.spool)."""

    __tablename__ = "usage_spool_checkpoints"

    run_id: str = Field(primary_key=True, max_length=32)
    seq: int = Field(sa_type=BigInteger)
