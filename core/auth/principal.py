"""Who is calling: the authenticated principal of the current RPC, set by the auth interceptor."""

from __future__ import annotations

import enum
from contextvars import ContextVar
from dataclasses import dataclass

from core.errors import MissingCredentials


class Role(enum.StrEnum):
    USER = "user"
    ORG_ADMIN = "org-admin"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. The bootstrap admin credential has no token, user or org (ids are None)."""

    role: Role
    token_id: str | None = None
    token_name: str | None = None
    user_id: str | None = None
    user_email: str | None = None
    org_id: str | None = None
    org_name: str | None = None
    team_id: str | None = None  # set for service-account tokens
    team_name: str | None = None
    service_account_id: str | None = None
    service_account_name: str | None = None
    is_bootstrap_admin: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


_current: ContextVar[Principal | None] = ContextVar("aqueduct_principal", default=None)


def current_principal() -> Principal:
    """The principal of the RPC being served; raises if the RPC was not authenticated."""
    principal = _current.get()
    if principal is None:
        raise MissingCredentials("missing bearer token")
    return principal


def set_principal(principal: Principal | None) -> None:
    _current.set(principal)
