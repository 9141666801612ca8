"""Tenancy domain: orgs, users, teams, service accounts and tokens, with role-based authorization."""

from core.tenancy.service import TenancyService
from core.tenancy.views import (
    CreatedServiceAccount,
    CreatedToken,
    MemberView,
    OrgView,
    Page,
    ServiceAccountView,
    TeamView,
    TokenView,
    UserView,
)

__all__ = [
    "CreatedServiceAccount",
    "CreatedToken",
    "MemberView",
    "OrgView",
    "Page",
    "ServiceAccountView",
    "TeamView",
    "TenancyService",
    "TokenView",
    "UserView",
]
