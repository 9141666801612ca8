"""Proto messages of AdminService as output rows (snake_case keys, ISO 8601 UTC timestamps, role names).

Each resource also names the columns its human table shows, in order; JSON output carries every key."""

from __future__ import annotations

from aqueduct.v1 import tenancy_pb2
from google.protobuf.message import Message

from aqueduct_client.cli._output import Row, timestamp_to_iso

# The CLI's role words, as the `--role` flag and the output spell them.
ROLE_NAMES: dict[str, tenancy_pb2.Role.ValueType] = {
    "user": tenancy_pb2.ROLE_USER,
    "org-admin": tenancy_pb2.ROLE_ORG_ADMIN,
    "admin": tenancy_pb2.ROLE_ADMIN,
}
_ROLE_WORDS = {value: name for name, value in ROLE_NAMES.items()}

ORG_COLUMNS = ("name", "id", "create_time")
USER_COLUMNS = ("email", "org", "role", "id", "create_time")
TEAM_COLUMNS = ("name", "org", "id", "create_time")
TEAM_MEMBER_COLUMNS = ("email", "team", "org", "team_admin")
TOKEN_COLUMNS = ("id", "name", "preview", "user_email", "service_account", "expire_time", "create_time")
SERVICE_ACCOUNT_COLUMNS = ("name", "team", "org", "owner_email", "token_id", "id", "create_time")


def role_word(role: tenancy_pb2.Role.ValueType) -> str:
    return _ROLE_WORDS.get(role, "unspecified")


def _time(message: Message, field: str) -> str | None:
    """The timestamp field as ISO 8601, or None when unset (e.g. a token that never expires)."""
    if not message.HasField(field):
        return None
    return timestamp_to_iso(getattr(message, field))


def org_row(org: tenancy_pb2.Org) -> Row:
    return {"id": org.id, "name": org.name, "create_time": _time(org, "create_time")}


def user_row(user: tenancy_pb2.User) -> Row:
    return {
        "id": user.id,
        "email": user.email,
        "org": user.org,
        "role": role_word(user.role),
        "create_time": _time(user, "create_time"),
    }


def team_row(team: tenancy_pb2.Team) -> Row:
    return {"id": team.id, "name": team.name, "org": team.org, "create_time": _time(team, "create_time")}


def team_member_row(member: tenancy_pb2.TeamMember) -> Row:
    return {"team": member.team, "org": member.org, "email": member.email, "team_admin": member.team_admin}


def token_row(token: tenancy_pb2.Token) -> Row:
    return {
        "id": token.id,
        "name": token.name,
        "preview": token.preview,
        "user_email": token.user_email,
        "service_account": token.service_account or None,
        "expire_time": _time(token, "expire_time"),
        "create_time": _time(token, "create_time"),
    }


def service_account_row(account: tenancy_pb2.ServiceAccount) -> Row:
    return {
        "id": account.id,
        "name": account.name,
        "team": account.team,
        "org": account.org,
        "owner_email": account.owner_email,
        "token_id": account.token_id,
        "create_time": _time(account, "create_time"),
    }
