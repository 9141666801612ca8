"""TenancyService: orgs, users, teams, members, tokens and service accounts, authorized by the caller's role.

Plain typed async code over the database; every operation takes the calling Principal first. The gRPC
servicer (core.services.admin) only converts protos to these calls and back."""

from __future__ import annotations

from core.tenancy.orgs import OrgOps
from core.tenancy.service_accounts import ServiceAccountOps
from core.tenancy.teams import TeamOps
from core.tenancy.tokens import TokenOps
from core.tenancy.users import UserOps


class TenancyService(OrgOps, UserOps, TeamOps, TokenOps, ServiceAccountOps):
    """Construct with (sessionmaker, authenticator, settings); the authenticator (optional) is told about
    deleted and regenerated tokens so they stop working on this replica at once."""
