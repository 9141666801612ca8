"""MCP proxy sessions: the gateway's own handshake-era session ids, shared by every replica (no sticky
routing). The id column holds a digest of the session id the client holds, never the id itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from core.db.ids import ID_LENGTH
from core.db.types import UtcDateTime

SESSION_DIGEST_LENGTH = 64  # sha256, hex
SERVER_NAME_LENGTH = 64
UPSTREAM_SESSION_LENGTH = 1024
PROTOCOL_VERSION_LENGTH = 32


class McpSessionRow(SQLModel, table=True):
    """One open session, bound to the token that opened it and the server it was opened on."""

    __tablename__ = "mcp_sessions"
    __table_args__ = (Index("ix_mcp_sessions_server_last_used_at", "server", "last_used_at"),)

    id: str = Field(primary_key=True, sa_type=String(SESSION_DIGEST_LENGTH))
    server: str = Field(sa_type=String(SERVER_NAME_LENGTH))
    token_id: str = Field(max_length=ID_LENGTH)
    # The upstream's Mcp-Session-Id (None: the upstream runs without sessions); never shown to the client.
    upstream_session_id: str | None = Field(default=None, sa_type=String(UPSTREAM_SESSION_LENGTH))
    protocol_version: str | None = Field(default=None, sa_type=String(PROTOCOL_VERSION_LENGTH))
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_used_at: datetime = Field(sa_type=UtcDateTime)
