"""Resource names of the tenancy API (AIP-122), parsed into typed keys and printed back.

    orgs/{org}                                   users/{email}                tokens/{token}
    orgs/{org}/teams/{team}                      orgs/{org}/teams/{team}/members/{email}
    orgs/{org}/teams/{team}/serviceAccounts/{service_account}

A malformed name is INVALID_ARGUMENT naming the request field; `-` stands for "any" in list parents (AIP-159).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidRequest
from core.tenancy import validation

WILDCARD = "-"
# Collection id -> the variable that follows it, as the proto comments spell the patterns.
_VARIABLES = {
    "orgs": "org",
    "users": "email",
    "teams": "team",
    "members": "email",
    "serviceAccounts": "service_account",
    "tokens": "token",
}
_TOKEN_ID = re.compile(r"[0-9a-f]{1,64}")


@dataclass(frozen=True, slots=True)
class OrgName:
    org: str

    def __str__(self) -> str:
        return f"orgs/{self.org}"


@dataclass(frozen=True, slots=True)
class UserName:
    email: str

    def __str__(self) -> str:
        return f"users/{self.email}"


@dataclass(frozen=True, slots=True)
class TeamName:
    org: str
    team: str

    def __str__(self) -> str:
        return f"orgs/{self.org}/teams/{self.team}"


@dataclass(frozen=True, slots=True)
class MemberName:
    org: str
    team: str
    email: str

    def __str__(self) -> str:
        return f"orgs/{self.org}/teams/{self.team}/members/{self.email}"


@dataclass(frozen=True, slots=True)
class ServiceAccountName:
    org: str
    team: str
    account: str

    def __str__(self) -> str:
        return f"orgs/{self.org}/teams/{self.team}/serviceAccounts/{self.account}"


@dataclass(frozen=True, slots=True)
class TokenName:
    token_id: str

    def __str__(self) -> str:
        return f"tokens/{self.token_id}"


def _parts(value: str, pattern: tuple[str, ...], field: str) -> list[str]:
    """The variable segments of `value` laid out as `pattern`, a sequence of collection ids."""
    segments = value.strip().split("/")
    shape = "/".join(f"{c}/{{{_VARIABLES[c]}}}" for c in pattern)
    if len(segments) != 2 * len(pattern) or any(segments[2 * i] != c for i, c in enumerate(pattern)):
        raise InvalidRequest(f"{field} must look like {shape!r}", field=field)
    return [segments[2 * i + 1] for i in range(len(pattern))]


def org_name(value: str, field: str = "name") -> OrgName:
    (org,) = _parts(value, ("orgs",), field)
    return OrgName(validation.name(org, field))


def user_name(value: str, field: str = "name") -> UserName:
    (email,) = _parts(value, ("users",), field)
    return UserName(validation.email(email, field))


def team_name(value: str, field: str = "name") -> TeamName:
    org, team = _parts(value, ("orgs", "teams"), field)
    return TeamName(validation.name(org, field), validation.name(team, field))


def member_name(value: str, field: str = "name") -> MemberName:
    org, team, email = _parts(value, ("orgs", "teams", "members"), field)
    return MemberName(validation.name(org, field), validation.name(team, field), validation.email(email, field))


def service_account_name(value: str, field: str = "name") -> ServiceAccountName:
    org, team, account = _parts(value, ("orgs", "teams", "serviceAccounts"), field)
    return ServiceAccountName(
        validation.name(org, field), validation.name(team, field), validation.name(account, field)
    )


def token_name(value: str, field: str = "name") -> TokenName:
    (token_id,) = _parts(value, ("tokens",), field)
    if not _TOKEN_ID.fullmatch(token_id):
        raise InvalidRequest(f"{field} must look like 'tokens/{{token}}' with a token id", field=field)
    return TokenName(token_id)


def optional_org(value: str, field: str) -> OrgName | None:
    """An org filter: empty or `orgs/-` means every org."""
    if not value.strip() or value.strip() == f"orgs/{WILDCARD}":
        return None
    return org_name(value, field)


def optional_user(value: str, field: str) -> UserName | None:
    return user_name(value, field) if value.strip() else None


def account_parent(value: str, field: str = "parent") -> OrgName | TeamName | None:
    """A service-account list parent: a team, `orgs/{org}/teams/-` (an org), or `orgs/-/teams/-` / empty."""
    if not value.strip():
        return None
    org, team = _parts(value, ("orgs", "teams"), field)
    if team != WILDCARD:
        if org == WILDCARD:
            raise InvalidRequest(f"{field}: team names are unique only inside an org; name the org", field=field)
        return TeamName(validation.name(org, field), validation.name(team, field))
    return None if org == WILDCARD else OrgName(validation.name(org, field))
