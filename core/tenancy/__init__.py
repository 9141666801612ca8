"""Tenancy domain: one class per resource (orgs, users, teams, team members, tokens, service accounts) over one
shared TenancyStore. Every operation takes the calling Principal first; who may do what is decided in
core.governance.authorization. The gRPC servicers (core.services.*) only convert protos to these calls."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.authenticator import Authenticator
from core.auth.clock import Clock, SystemClock
from core.settings import Settings
from core.tenancy._store import TenancyStore
from core.tenancy.members import TeamMembers
from core.tenancy.orgs import Orgs
from core.tenancy.service_accounts import ServiceAccounts
from core.tenancy.teams import Teams
from core.tenancy.tokens import TokenChanges, Tokens
from core.tenancy.users import Users
from core.tenancy.views import (
    CreatedServiceAccount,
    CreatedToken,
    MemberView,
    OrgView,
    ServiceAccountView,
    TeamView,
    TokenView,
    UserView,
)


@dataclass(frozen=True, slots=True)
class Tenancy:
    """The resource classes over one store, as core wires them (and tests use them)."""

    orgs: Orgs
    users: Users
    teams: Teams
    members: TeamMembers
    tokens: Tokens
    service_accounts: ServiceAccounts

    @classmethod
    def create(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        authenticator: Authenticator | None,
        settings: Settings,
        *,
        clock: Clock | None = None,
    ) -> Tenancy:
        store = TenancyStore(sessions, authenticator, settings, clock or SystemClock())
        return cls(Orgs(store), Users(store), Teams(store), TeamMembers(store), Tokens(store), ServiceAccounts(store))


__all__ = [
    "CreatedServiceAccount",
    "CreatedToken",
    "MemberView",
    "OrgView",
    "Orgs",
    "ServiceAccountView",
    "ServiceAccounts",
    "TeamMembers",
    "TeamView",
    "Teams",
    "Tenancy",
    "TokenChanges",
    "TokenView",
    "Tokens",
    "UserView",
    "Users",
]
