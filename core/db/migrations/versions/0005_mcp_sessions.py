"""MCP proxy: shared sessions, and the MCP facts of usage records and rollups.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLLUPS = ("usage_rollups_minute", "usage_rollups_hour")
_DIMENSIONS = (("mcp_server", 64), ("mcp_method", 128), ("mcp_name", 255))

def upgrade() -> None:
    op.create_table(
        "mcp_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("server", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("upstream_session_id", sa.String(length=1024), nullable=True),
        sa.Column("protocol_version", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mcp_sessions_server_last_used_at", "mcp_sessions", ["server", "last_used_at"])
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("mcp_server", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("mcp_method", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("mcp_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("rpc_error_code", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("bytes_in", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("bytes_out", sa.BigInteger(), nullable=True))
    for table in _ROLLUPS:
        with op.batch_alter_table(table) as batch:
            for name, length in _DIMENSIONS:
                batch.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=""))

def downgrade() -> None:
    for table in _ROLLUPS:
        with op.batch_alter_table(table) as batch:
            for name, _ in _DIMENSIONS:
                batch.drop_column(name)
    with op.batch_alter_table("usage_records") as batch:
        for name in ("bytes_out", "bytes_in", "rpc_error_code", "mcp_name", "mcp_method", "mcp_server"):
            batch.drop_column(name)
    op.drop_index("ix_mcp_sessions_server_last_used_at", table_name="mcp_sessions")
    op.drop_table("mcp_sessions")
