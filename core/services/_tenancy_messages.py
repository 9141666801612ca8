"""Tenancy views -> proto messages, role enum mapping and AIP-134 update masks, shared by the five tenancy
servicers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from aqueduct.v1 import org_pb2, service_account_pb2, team_pb2, token_pb2, user_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from core.auth.principal import Role
from core.errors import InvalidRequest
from core.tenancy import MemberView, OrgView, ServiceAccountView, TeamView, TokenView, UserView
from core.tenancy.names import MemberName, OrgName, ServiceAccountName, TeamName, TokenName, UserName

UPDATE_MASK_FIELD = "update_mask"
ROLE_FROM_PROTO: dict[user_pb2.Role.ValueType, Role] = {
    user_pb2.ROLE_USER: Role.USER,
    user_pb2.ROLE_ORG_ADMIN: Role.ORG_ADMIN,
    user_pb2.ROLE_ADMIN: Role.ADMIN,
}
_ROLE_TO_PROTO = {role: value for value, role in ROLE_FROM_PROTO.items()}


def update_paths(mask: FieldMask, resource: Message, mutable: Iterable[str]) -> set[str]:
    """The fields an Update changes (AIP-134): the mask's paths, `*` for every mutable field, or with no mask
    the mutable fields set in `resource`. An unknown or immutable path is INVALID_ARGUMENT."""
    mutable = set(mutable)
    if not mask.paths:
        return {f.name for f, _ in resource.ListFields() if f.name in mutable}
    if list(mask.paths) == ["*"]:
        return mutable
    known = set(resource.DESCRIPTOR.fields_by_name)
    for path in mask.paths:
        if path not in known:
            raise InvalidRequest(f"update_mask: unknown field {path!r}", field=UPDATE_MASK_FIELD)
        if path not in mutable:
            raise InvalidRequest(
                f"update_mask: {path!r} cannot be changed (mutable: {', '.join(sorted(mutable))})",
                field=UPDATE_MASK_FIELD,
            )
    return set(mask.paths)


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def role_from_proto(value: user_pb2.Role.ValueType, field: str) -> Role:
    role = ROLE_FROM_PROTO.get(value)
    if role is None:
        raise InvalidRequest(f"{field} must be ROLE_USER, ROLE_ORG_ADMIN or ROLE_ADMIN", field=field)
    return role


def org_message(v: OrgView) -> org_pb2.Org:
    return org_pb2.Org(name=str(OrgName(v.name)), uid=v.id, create_time=timestamp(v.created_at))


def user_message(v: UserView) -> user_pb2.User:
    return user_pb2.User(
        name=str(UserName(v.email)),
        uid=v.id,
        org=str(OrgName(v.org)),
        role=_ROLE_TO_PROTO[v.role],
        create_time=timestamp(v.created_at),
    )


def team_message(v: TeamView) -> team_pb2.Team:
    return team_pb2.Team(name=str(TeamName(v.org, v.name)), uid=v.id, create_time=timestamp(v.created_at))


def member_message(v: MemberView) -> team_pb2.TeamMember:
    return team_pb2.TeamMember(
        name=str(MemberName(v.org, v.team, v.email)), user=str(UserName(v.email)), team_admin=v.team_admin
    )


def token_message(v: TokenView) -> token_pb2.Token:
    msg = token_pb2.Token(
        name=str(TokenName(v.id)),
        display_name=v.name,
        preview=v.preview,
        user=str(UserName(v.user_email)),
        service_account=str(v.service_account) if v.service_account is not None else "",
        create_time=timestamp(v.created_at),
    )
    if v.expires_at is not None:
        msg.expire_time.CopyFrom(timestamp(v.expires_at))
    return msg


def service_account_message(v: ServiceAccountView) -> service_account_pb2.ServiceAccount:
    return service_account_pb2.ServiceAccount(
        name=str(ServiceAccountName(v.org, v.team, v.name)),
        uid=v.id,
        owner=str(UserName(v.owner_email)),
        token=str(TokenName(v.token_id)) if v.token_id else "",
        create_time=timestamp(v.created_at),
    )
