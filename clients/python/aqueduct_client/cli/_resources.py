"""Tenancy proto messages as output rows (snake_case keys, ISO 8601 UTC timestamps, role names).

The rows keep the CLI's historical keys and short names (`org`: "acme", not "orgs/acme"), so scripts that parse
`--json` are unaffected by the API's resource names. Each resource also names the columns its human table
shows, in order; JSON output carries every key."""

from __future__ import annotations

from aqueduct.v1 import org_pb2, service_account_pb2, team_pb2, token_pb2, user_pb2
from google.protobuf.message import Message

from aqueduct_client.cli._output import Row, timestamp_to_iso
from aqueduct_client.names import segment

# The CLI's role words, as the `--role` flag and the output spell them.
ROLE_NAMES: dict[str, user_pb2.Role.ValueType] = {
    "user": user_pb2.ROLE_USER,
    "org-admin": user_pb2.ROLE_ORG_ADMIN,
    "admin": user_pb2.ROLE_ADMIN,
}
_ROLE_WORDS = {value: name for name, value in ROLE_NAMES.items()}

ORG_COLUMNS = ("name", "id", "create_time")
USER_COLUMNS = ("email", "org", "role", "id", "create_time")
TEAM_COLUMNS = ("name", "org", "id", "create_time")
TEAM_MEMBER_COLUMNS = ("email", "team", "org", "team_admin")
TOKEN_COLUMNS = ("id", "name", "preview", "user_email", "service_account", "expire_time", "create_time")
SERVICE_ACCOUNT_COLUMNS = ("name", "team", "org", "owner_email", "token_id", "id", "create_time")


def role_word(role: user_pb2.Role.ValueType) -> str:
    return _ROLE_WORDS.get(role, "unspecified")


def _time(message: Message, field: str) -> str | None:
    """The timestamp field as ISO 8601, or None when unset (e.g. a token that never expires)."""
    if not message.HasField(field):
        return None
    return timestamp_to_iso(getattr(message, field))


def org_row(org: org_pb2.Org) -> Row:
    return {"id": org.uid, "name": segment(org.name, "orgs"), "create_time": _time(org, "create_time")}


def user_row(user: user_pb2.User) -> Row:
    return {
        "id": user.uid,
        "email": segment(user.name, "users"),
        "org": segment(user.org, "orgs"),
        "role": role_word(user.role),
        "create_time": _time(user, "create_time"),
    }


def team_row(team: team_pb2.Team) -> Row:
    return {
        "id": team.uid,
        "name": segment(team.name, "teams"),
        "org": segment(team.name, "orgs"),
        "create_time": _time(team, "create_time"),
    }


def team_member_row(member: team_pb2.TeamMember) -> Row:
    return {
        "team": segment(member.name, "teams"),
        "org": segment(member.name, "orgs"),
        "email": segment(member.user, "users"),
        "team_admin": member.team_admin,
    }


def token_row(token: token_pb2.Token) -> Row:
    return {
        "id": segment(token.name, "tokens"),
        "name": token.display_name,
        "preview": token.preview,
        "user_email": segment(token.user, "users"),
        "service_account": segment(token.service_account, "serviceAccounts") or None,
        "expire_time": _time(token, "expire_time"),
        "create_time": _time(token, "create_time"),
    }


def service_account_row(account: service_account_pb2.ServiceAccount) -> Row:
    return {
        "id": account.uid,
        "name": segment(account.name, "serviceAccounts"),
        "team": segment(account.name, "teams"),
        "org": segment(account.name, "orgs"),
        "owner_email": segment(account.owner, "users"),
        "token_id": segment(account.token, "tokens"),
        "create_time": _time(account, "create_time"),
    }
