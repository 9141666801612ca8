"""Initial schema: tenancy (orgs, users, teams, team members, service accounts, API tokens) and usage records.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str, **kw: bool) -> sa.Column:
    return sa.Column(name, sa.String(length=32), **kw)


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "orgs",
        _id("id", nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_orgs_name"),
    )
    op.create_table(
        "users",
        _id("id", nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _id("org_id", nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_index("ix_users_org_id", "users", ["org_id"])
    op.create_table(
        "teams",
        _id("id", nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        _id("org_id", nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "name", name="uq_teams_org_id_name"),
    )
    op.create_table(
        "team_members",
        _id("team_id", nullable=False),
        _id("user_id", nullable=False),
        sa.Column("team_admin", sa.Boolean(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    op.create_table(
        "service_accounts",
        _id("id", nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        _id("team_id", nullable=False),
        _id("owner_user_id", nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "name", name="uq_service_accounts_team_id_name"),
    )
    op.create_index("ix_service_accounts_owner_user_id", "service_accounts", ["owner_user_id"])
    op.create_table(
        "api_tokens",
        _id("id", nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("preview", sa.String(length=32), nullable=False),
        _id("user_id", nullable=False),
        _id("service_account_id", nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(["service_account_id"], ["service_accounts.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_tokens_secret_hash", "api_tokens", ["secret_hash"], unique=True)
    op.create_index("ix_api_tokens_service_account_id", "api_tokens", ["service_account_id"], unique=True)
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "usage_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _id("token_id", nullable=True),
        _id("user_id", nullable=True),
        _id("org_id", nullable=True),
        _id("team_id", nullable=True),
        _id("service_account_id", nullable=True),
        sa.Column("end_user_id", sa.String(length=255), nullable=True),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("deployment", sa.String(length=255), nullable=True),
        sa.Column("endpoint_method", sa.String(length=16), nullable=False),
        sa.Column("endpoint_path", sa.String(length=255), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("tokens_estimated", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("client_addr", sa.String(length=128), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_usage_records_created_at", "usage_records", ["created_at"])
    op.create_index("ix_usage_records_token_id_created_at", "usage_records", ["token_id", "created_at"])
    op.create_index("ix_usage_records_org_id_created_at", "usage_records", ["org_id", "created_at"])
    op.create_index("ix_usage_records_user_id_created_at", "usage_records", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_table("usage_records")
    op.drop_table("api_tokens")
    op.drop_table("service_accounts")
    op.drop_table("team_members")
    op.drop_table("teams")
    op.drop_table("users")
    op.drop_table("orgs")
