"""Governance tables: rate limits per scope and model / MCP-server exclusion lists with their merge flags.

Scopes are referenced by id without foreign keys: the domain deletes nothing here when a user or token goes
away, and a dangling row only costs a few bytes (it can never match a live principal again)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from core.db.ids import ID_LENGTH
from core.db.types import UtcDateTime, utcnow

SCOPE_KIND_LENGTH = 8  # "org", "team", "user", "token"
EXCLUSION_KIND_LENGTH = 16  # "model", "mcp_server"
EXCLUDED_NAME_LENGTH = 255


class RateLimitRow(SQLModel, table=True):
    """One scope's limits. `pool` is True for an org/team total, False for the per-member limit (org/team)
    or the scope's own limit (user/token). A NULL dimension is not limited at this scope."""

    __tablename__ = "rate_limits"

    scope_kind: str = Field(sa_type=String(SCOPE_KIND_LENGTH), primary_key=True)
    scope_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    pool: bool = Field(primary_key=True)
    rpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ExclusionRow(SQLModel, table=True):
    """One excluded model (name or alias) or MCP server name on an org, team or user."""

    __tablename__ = "exclusions"

    scope_kind: str = Field(sa_type=String(SCOPE_KIND_LENGTH), primary_key=True)
    scope_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    kind: str = Field(sa_type=String(EXCLUSION_KIND_LENGTH), primary_key=True)
    name: str = Field(primary_key=True, max_length=EXCLUDED_NAME_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ExclusionMergeRow(SQLModel, table=True):
    """A scope's merge flag for one exclusion kind; no row means merging is on (the default)."""

    __tablename__ = "exclusion_merge_flags"

    scope_kind: str = Field(sa_type=String(SCOPE_KIND_LENGTH), primary_key=True)
    scope_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    kind: str = Field(sa_type=String(EXCLUSION_KIND_LENGTH), primary_key=True)
    merge: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
