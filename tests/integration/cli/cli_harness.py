"""A fake AdminService for CLI integration tests, and a helper that runs the installed `aqueduct` console
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
from aqueduct.v1 import admin_service_pb2 as pb
from aqueduct.v1 import admin_service_pb2_grpc, tenancy_pb2
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
class FakeAdminService(admin_service_pb2_grpc.AdminServiceServicer):
    """Enough of AdminService to drive the CLI: in-memory state, admin vs user tokens, pagination."""

    orgs: dict[str, tenancy_pb2.Org] = field(default_factory=dict)
    users: dict[str, tenancy_pb2.User] = field(default_factory=dict)
    tokens: dict[str, tenancy_pb2.Token] = field(default_factory=dict)
    seen_metadata: list[dict[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def _authorize(self, context: grpc.aio.ServicerContext[Any, Any], *, admin: bool = True) -> None:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        self.seen_metadata.append(metadata)
        auth = metadata.get("authorization", "")
        if auth not in (f"Bearer {ADMIN_TOKEN}", f"Bearer {USER_TOKEN}"):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid token")
        if admin and auth != f"Bearer {ADMIN_TOKEN}":
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "only an admin may do this")

    def _page(self, items: list[Any], page_token: str) -> tuple[list[Any], str]:
        start = int(page_token or 0)
        end = start + FAKE_PAGE_SIZE
        return items[start:end], (str(end) if end < len(items) else "")

    async def CreateOrg(self, request: pb.CreateOrgRequest, context: Any) -> pb.CreateOrgResponse:
        await self._authorize(context)
        if request.name in self.orgs:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"org {request.name} already exists")
        org = tenancy_pb2.Org(id=f"org_{next(self._ids)}", name=request.name, create_time=_now())
        self.orgs[org.name] = org
        return pb.CreateOrgResponse(org=org)

    async def ListOrgs(self, request: pb.ListOrgsRequest, context: Any) -> pb.ListOrgsResponse:
        await self._authorize(context, admin=False)
        page, token = self._page(sorted(self.orgs.values(), key=lambda o: o.name), request.page_token)
        return pb.ListOrgsResponse(orgs=page, next_page_token=token)

    async def DeleteOrg(self, request: pb.DeleteOrgRequest, context: Any) -> pb.DeleteOrgResponse:
        await self._authorize(context)
        if self.orgs.pop(request.name, None) is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"org {request.name} does not exist")
        return pb.DeleteOrgResponse()

    async def CreateUser(self, request: pb.CreateUserRequest, context: Any) -> pb.CreateUserResponse:
        await self._authorize(context)
        if request.org not in self.orgs:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"org {request.org} does not exist")
        role = request.role or tenancy_pb2.ROLE_USER
        user = tenancy_pb2.User(
            id=f"user_{next(self._ids)}", email=request.email, org=request.org, role=role, create_time=_now()
        )
        self.users[user.email] = user
        return pb.CreateUserResponse(user=user)

    async def ListUsers(self, request: pb.ListUsersRequest, context: Any) -> pb.ListUsersResponse:
        await self._authorize(context)
        users = [u for u in self.users.values() if not request.org or u.org == request.org]
        page, token = self._page(users, request.page_token)
        return pb.ListUsersResponse(users=page, next_page_token=token)

    async def CreateToken(self, request: pb.CreateTokenRequest, context: Any) -> pb.CreateTokenResponse:
        await self._authorize(context, admin=False)
        number = next(self._ids)
        token = tenancy_pb2.Token(
            id=f"tok_{number}",
            name=request.name,
            preview=f"sk-{number}...",
            user_email=request.user_email,
            create_time=_now(),
        )
        if request.HasField("expire_time"):
            token.expire_time.CopyFrom(request.expire_time)
        self.tokens[token.id] = token
        return pb.CreateTokenResponse(token=token, secret=f"sk-secret-{number}")

    async def ListTokens(self, request: pb.ListTokensRequest, context: Any) -> pb.ListTokensResponse:
        await self._authorize(context, admin=False)
        tokens = [t for t in self.tokens.values() if not request.user_email or t.user_email == request.user_email]
        page, token = self._page(tokens, request.page_token)
        return pb.ListTokensResponse(tokens=page, next_page_token=token)


@dataclass
class FakeCore:
    address: str
    service: FakeAdminService


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
