"""Resource names of the tenancy services (AIP-122), built from the short names people type and read back.

org("acme") == "orgs/acme"                team("acme", "eng") == "orgs/acme/teams/eng"
user("a@x.io") == "users/a@x.io"          member("acme", "eng", "a@x.io") == "orgs/acme/teams/eng/members/a@x.io"
token("0a1b") == "tokens/0a1b"            service_account("acme", "eng", "bot") == ".../serviceAccounts/bot"
segment("orgs/acme/teams/eng", "orgs") == "acme"
"""

from __future__ import annotations

# In a list parent: every org / team the caller may see (AIP-159).
ANY = "-"


def org(name: str) -> str:
    return f"orgs/{name}"


def user(email: str) -> str:
    return f"users/{email}"


def team(org_name: str, team_name: str) -> str:
    return f"orgs/{org_name}/teams/{team_name}"


def member(org_name: str, team_name: str, email: str) -> str:
    return f"{team(org_name, team_name)}/members/{email}"


def service_account(org_name: str, team_name: str, account: str) -> str:
    return f"{team(org_name, team_name)}/serviceAccounts/{account}"


def token(token_id: str) -> str:
    return f"tokens/{token_id}"


def segment(name: str, collection: str) -> str:
    """The id that follows `collection` in `name` ("" when absent): segment("users/a@x.io", "users")."""
    parts = name.split("/")
    for i in range(0, len(parts) - 1, 2):
        if parts[i] == collection:
            return parts[i + 1]
    return ""
