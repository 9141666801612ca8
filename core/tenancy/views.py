"""What the tenancy domain returns: plain values with names resolved, never table rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.auth.principal import Role
from core.tenancy.names import ServiceAccountName


@dataclass(frozen=True, slots=True)
class OrgView:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    email: str
    org: str
    role: Role
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TeamView:
    id: str
    name: str
    org: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberView:
    team: str
    org: str
    email: str
    team_admin: bool


@dataclass(frozen=True, slots=True)
class TokenView:
    id: str
    name: str
    preview: str
    user_email: str
    service_account: ServiceAccountName | None
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A token with its secret: only ever returned by create and regenerate."""

    token: TokenView
    secret: str


@dataclass(frozen=True, slots=True)
class ServiceAccountView:
    id: str
    name: str
    team: str
    org: str
    owner_email: str
    token_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedServiceAccount:
    service_account: ServiceAccountView
    secret: str
