"""Governance (rate limits, exclusion lists and merge flags) and usage rollups (per minute and per hour).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# core.usage.histogram.BUCKET_COUNT at the time of writing; a revision never imports model code.
_LATENCY_BUCKETS = 42
_ROLLUP_TABLES = ("usage_rollups_minute", "usage_rollups_hour")


def _scope() -> list[sa.Column]:
    return [
        sa.Column("scope_kind", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.String(length=32), nullable=False),
    ]


def _rollup_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dims_hash", sa.String(length=32), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("service_account_id", sa.String(length=32), nullable=False),
        sa.Column("end_user_id", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("endpoint_method", sa.String(length=16), nullable=False),
        sa.Column("endpoint_path", sa.String(length=255), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        *(
            sa.Column(f"lat_{i:02d}", sa.BigInteger(), server_default="0", nullable=False)
            for i in range(_LATENCY_BUCKETS)
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bucket_start", "dims_hash", name=f"uq_{name}_bucket_dims"),
    )
    op.create_index(f"ix_{name}_bucket_start", name, ["bucket_start"])
    for column in ("org_id", "user_id", "token_id", "end_user_id"):
        op.create_index(f"ix_{name}_{column}_bucket_start", name, [column, "bucket_start"])


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        *_scope(),
        sa.Column("pool", sa.Boolean(), nullable=False),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("input_tpm", sa.Integer(), nullable=True),
        sa.Column("output_tpm", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope_kind", "scope_id", "pool"),
    )
    op.create_table(
        "exclusions",
        *_scope(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope_kind", "scope_id", "kind", "name"),
    )
    op.create_table(
        "exclusion_merge_flags",
        *_scope(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("merge", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope_kind", "scope_id", "kind"),
    )
    for name in _ROLLUP_TABLES:
        _rollup_table(name)


def downgrade() -> None:
    for name in reversed(_ROLLUP_TABLES):
        op.drop_table(name)
    op.drop_table("exclusion_merge_flags")
    op.drop_table("exclusions")
    op.drop_table("rate_limits")
