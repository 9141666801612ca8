"""Resource names of governance scopes and of the settings under them (proto/aqueduct/v1/governance.proto):
built here so callers never format them by hand, and read back for display."""

from __future__ import annotations

from urllib.parse import quote

from aqueduct.v1 import governance_pb2

# The id prefix of an exclusion per kind; the server parses the same `{prefix}.{percent-encoded target}`.
EXCLUSION_ID_PREFIXES = {
    governance_pb2.EXCLUSION_KIND_MODEL: "model",
    governance_pb2.EXCLUSION_KIND_MCP_SERVER: "mcpServer",
}


def org_scope(org: str) -> str:
    return f"orgs/{org}"


def team_scope(org: str, team: str) -> str:
    return f"orgs/{org}/teams/{team}"


def user_scope(email: str) -> str:
    return f"users/{email}"


def token_scope(token_id: str) -> str:
    return f"tokens/{token_id}"


def rate_limit_name(scope: str, *, total: bool = False) -> str:
    """The rate limit at `scope`: its pool with `total` (orgs and teams), else its member limit (a token's
    own cap for a token scope)."""
    if total:
        return f"{scope}/rateLimits/total"
    return f"{scope}/rateLimits/{'token' if scope.startswith('tokens/') else 'member'}"


def exclusion_name(scope: str, kind: governance_pb2.ExclusionKind.ValueType, target: str) -> str:
    return f"{scope}/exclusions/{EXCLUSION_ID_PREFIXES[kind]}.{quote(target.strip(), safe='')}"


def exclusion_policy_name(scope: str) -> str:
    return f"{scope}/exclusionPolicy"


def describe_scope(scope: str) -> str:
    """A scope name in words: "org acme", "team eng (org acme)", "user a@example.com", "token 0f3c…"."""
    collection, _, rest = scope.partition("/")
    if collection == "orgs":
        org, _, team = rest.partition("/teams/")
        return f"team {team} (org {org})" if team else f"org {org}"
    return f"{collection.removesuffix('s')} {rest}" if rest else scope
