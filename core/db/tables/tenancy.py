"""Tenancy tables: orgs, users, teams, team members, service accounts and API tokens.

Rows are storage only; the tenancy domain turns them into views and the servicer into proto messages.
Children are deleted explicitly by the domain (it must know which token hashes to drop from the cache), so the
foreign keys restrict rather than cascade."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db.ids import ID_LENGTH, new_id
from core.db.types import UtcDateTime, utcnow

NAME_LENGTH = 64
EMAIL_LENGTH = 254
TOKEN_NAME_LENGTH = 100
ROLE_LENGTH = 16
HASH_LENGTH = 64  # hex SHA-256
PREVIEW_LENGTH = 32


class OrgRow(SQLModel, table=True):
    __tablename__ = "orgs"
    __table_args__ = (UniqueConstraint("name", name="uq_orgs_name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("email", name="uq_users_email"),
        Index("ix_users_org_id", "org_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID_LENGTH)
    email: str = Field(max_length=EMAIL_LENGTH)
    # One of core.auth.principal.Role's values.
    role: str = Field(sa_type=String(ROLE_LENGTH))
    org_id: str = Field(foreign_key="orgs.id", max_length=ID_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TeamRow(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_teams_org_id_name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    org_id: str = Field(foreign_key="orgs.id", max_length=ID_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TeamMemberRow(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_user_id", "user_id"),)

    team_id: str = Field(foreign_key="teams.id", primary_key=True, max_length=ID_LENGTH)
    user_id: str = Field(foreign_key="users.id", primary_key=True, max_length=ID_LENGTH)
    team_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ServiceAccountRow(SQLModel, table=True):
    __tablename__ = "service_accounts"
    __table_args__ = (
        UniqueConstraint("team_id", "name", name="uq_service_accounts_team_id_name"),
        Index("ix_service_accounts_owner_user_id", "owner_user_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID_LENGTH)
    name: str = Field(max_length=NAME_LENGTH)
    team_id: str = Field(foreign_key="teams.id", max_length=ID_LENGTH)
    owner_user_id: str = Field(foreign_key="users.id", max_length=ID_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ApiTokenRow(SQLModel, table=True):
    """Only the SHA-256 of the secret and a short preview are stored; the secret itself never is."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("ix_api_tokens_secret_hash", "secret_hash", unique=True),
        # A service account has exactly one token.
        Index("ix_api_tokens_service_account_id", "service_account_id", unique=True),
        Index("ix_api_tokens_user_id", "user_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID_LENGTH)
    name: str = Field(max_length=TOKEN_NAME_LENGTH)
    secret_hash: str = Field(max_length=HASH_LENGTH)
    preview: str = Field(max_length=PREVIEW_LENGTH)
    # The owner: the person for a personal token, the service account's owner otherwise.
    user_id: str = Field(foreign_key="users.id", max_length=ID_LENGTH)
    service_account_id: str | None = Field(default=None, foreign_key="service_accounts.id", max_length=ID_LENGTH)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
