"""Fake tenancy services for CLI integration tests, and a helper that runs the installed `aqueduct` console
script as a subprocess."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from aqueduct.v1 import (
    org_pb2,
    org_service_pb2,
    org_service_pb2_grpc,
    token_pb2,
    token_service_pb2,
    token_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)
from google.protobuf.timestamp_pb2 import Timestamp

AQUEDUCT = str(Path(sys.executable).with_name("aqueduct"))
ADMIN_TOKEN = "sk-admin-fake"
USER_TOKEN = "sk-user-fake"
# The fake serves at most this many items per page, so listings exercise next_page_token.
FAKE_PAGE_SIZE = 2
CLI_TIMEOUT_SECONDS = 30


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    stamp.nanos = 0
    return stamp


@dataclass
class FakeTenancy:
    """Enough of the Org, User and Token services to drive the CLI: in-memory state shared by the three
    servicers below, admin vs user tokens, pagination."""

    orgs: dict[str, org_pb2.Org] = field(default_factory=dict)
    users: dict[str, user_pb2.User] = field(default_factory=dict)
    tokens: dict[str, token_pb2.Token] = field(default_factory=dict)
    seen_metadata: list[dict[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self._ids)

    async def authorize(self, context: grpc.aio.ServicerContext[Any, Any], *, admin: bool = True) -> None:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        self.seen_metadata.append(metadata)
        auth = metadata.get("authorization", "")
        if auth not in (f"Bearer {ADMIN_TOKEN}", f"Bearer {USER_TOKEN}"):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid token")
        if admin and auth != f"Bearer {ADMIN_TOKEN}":
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "only an admin may do this")

    @staticmethod
    def page(items: list[Any], page_token: str) -> tuple[list[Any], str]:
        start = int(page_token or 0)
        end = start + FAKE_PAGE_SIZE
        return items[start:end], (str(end) if end < len(items) else "")

    def add_to(self, server: grpc.aio.Server) -> None:
        # The generated bases answer UNIMPLEMENTED for the RPCs the fakes do not need.
        org_service_pb2_grpc.add_OrgServiceServicer_to_server(FakeOrgService(self), server)  # type: ignore[abstract]
        user_service_pb2_grpc.add_UserServiceServicer_to_server(FakeUserService(self), server)  # type: ignore[abstract]
        token_service_pb2_grpc.add_TokenServiceServicer_to_server(FakeTokenService(self), server)  # type: ignore[abstract]


@dataclass
class FakeOrgService(org_service_pb2_grpc.OrgServiceServicer):
    state: FakeTenancy

    async def CreateOrg(self, request: org_service_pb2.CreateOrgRequest, context: Any) -> Any:
        await self.state.authorize(context)
        name = f"orgs/{request.org_id}"
        if name in self.state.orgs:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{name} already exists")
        org = org_pb2.Org(uid=f"org_{self.state.next_id()}", name=name, create_time=_now())
        self.state.orgs[name] = org
        return org_service_pb2.CreateOrgResponse(org=org)

    async def ListOrgs(self, request: org_service_pb2.ListOrgsRequest, context: Any) -> Any:
        await self.state.authorize(context, admin=False)
        page, token = self.state.page(sorted(self.state.orgs.values(), key=lambda o: o.name), request.page_token)
        return org_service_pb2.ListOrgsResponse(orgs=page, next_page_token=token)

    async def DeleteOrg(self, request: org_service_pb2.DeleteOrgRequest, context: Any) -> Any:
        await self.state.authorize(context)
        if self.state.orgs.pop(request.name, None) is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        return org_service_pb2.DeleteOrgResponse()


@dataclass
class FakeUserService(user_service_pb2_grpc.UserServiceServicer):
    state: FakeTenancy

    async def CreateUser(self, request: user_service_pb2.CreateUserRequest, context: Any) -> Any:
        await self.state.authorize(context)
        if request.user.org not in self.state.orgs:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{request.user.org} not found")
        user = user_pb2.User(
            name=f"users/{request.user_id}",
            uid=f"user_{self.state.next_id()}",
            org=request.user.org,
            role=request.user.role or user_pb2.ROLE_USER,
            create_time=_now(),
        )
        self.state.users[user.name] = user
        return user_service_pb2.CreateUserResponse(user=user)

    async def ListUsers(self, request: user_service_pb2.ListUsersRequest, context: Any) -> Any:
        await self.state.authorize(context)
        users = [u for u in self.state.users.values() if not request.org or u.org == request.org]
        page, token = self.state.page(users, request.page_token)
        return user_service_pb2.ListUsersResponse(users=page, next_page_token=token)


@dataclass
class FakeTokenService(token_service_pb2_grpc.TokenServiceServicer):
    state: FakeTenancy

    async def CreateToken(self, request: token_service_pb2.CreateTokenRequest, context: Any) -> Any:
        await self.state.authorize(context, admin=False)
        number = self.state.next_id()
        token = token_pb2.Token(
            name=f"tokens/{number:04x}",
            display_name=request.token.display_name,
            preview=f"sk-{number}...",
            user=request.token.user,
            create_time=_now(),
        )
        if request.token.HasField("expire_time"):
            token.expire_time.CopyFrom(request.token.expire_time)
        self.state.tokens[token.name] = token
        return token_service_pb2.CreateTokenResponse(token=token, secret=f"sk-secret-{number}")

    async def ListTokens(self, request: token_service_pb2.ListTokensRequest, context: Any) -> Any:
        await self.state.authorize(context, admin=False)
        tokens = [t for t in self.state.tokens.values() if not request.user or t.user == request.user]
        page, token = self.state.page(tokens, request.page_token)
        return token_service_pb2.ListTokensResponse(tokens=page, next_page_token=token)


@dataclass
class FakeCore:
    address: str
    service: FakeTenancy


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def cli_env(address: str, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AQUEDUCT_ADMIN_TOKEN", "AQUEDUCT_TOKEN")}
    env["AQUEDUCT_CORE"] = address
    if token is not None:
        env["AQUEDUCT_ADMIN_TOKEN"] = token
    return env


async def run_cli(*argv: str, env: dict[str, str]) -> CliResult:
    """The installed console script as a subprocess; the event loop keeps serving while it runs."""
    process = await asyncio.create_subprocess_exec(
        AQUEDUCT, *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_SECONDS)
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())
