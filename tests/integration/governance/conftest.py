"""One real `aqueduct serve` (SQLite, no Redis) for the governance tests, with the fake upstream behind it.
Every test makes its own org and users (`fresh` names), so tests never share a limit or an exclusion."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import openai
import pytest
from aqueduct.v1 import (
    org_service_pb2,
    service_account_pb2,
    service_account_service_pb2,
    team_service_pb2,
    token_pb2,
    token_service_pb2,
    user_pb2,
    user_service_pb2,
)
from openai.types.chat import ChatCompletionMessageParam

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ADMIN_TOKEN, Gateway

UPSTREAM_KEY = "sk-upstream-governance-0123456789"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]


def model(
    upstream_url: str, name: str, mode: str = "chat", aliases: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    info = {"mode": mode, "aliases": aliases or []}
    info.update(extra.pop("model_info", {}))
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"openai/{name}-up",
            "api_base": upstream_url + "/v1",
            "api_key": UPSTREAM_KEY,
            **extra,
        },
        "model_info": info,
    }


def governance_config(upstream_url: str, db_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "database_url": db_url,
        "usage_flush_interval_seconds": 0.05,
        "governance_cache_ttl_seconds": 0.5,
        "global_model_exclusions": ["global-hidden"],
        "model_list": [
            model(upstream_url, "chat-model", aliases=["main"]),
            model(upstream_url, "other-model", aliases=["other"]),
            model(upstream_url, "global-hidden"),
            model(upstream_url, "capped-model", rpm=3),
            model(upstream_url, "heavy-model", model_info={"request_limit_multiplier": 2}),
            model(upstream_url, "embed-model", "embedding"),
        ],
        **extra,
    }


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="session")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("gw-governance")
    db_url = f"sqlite:///{workdir / 'aqueduct.db'}"
    gw = Gateway(governance_config(upstream.url, db_url), workdir)
    gw.db_url = db_url  # type: ignore[attr-defined]
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


@dataclass
class Tenant:
    """A fresh org with helpers to add people, teams and service accounts to it."""

    gateway: Gateway
    org: str

    def _admin(self, service: str, call: str, request: Any) -> Any:
        stub = getattr(self.gateway.admin(), service)
        return getattr(stub, call)(request, metadata=(("authorization", f"Bearer {ADMIN_TOKEN}"),))

    def user(self, name: str, role: user_pb2.Role.ValueType = user_pb2.ROLE_USER) -> tuple[str, str]:
        """(email, token secret) of a new user of this org."""
        email = f"{name}-{uuid.uuid4().hex[:6]}@{self.org}.test"
        user = user_pb2.User(org=f"orgs/{self.org}", role=role)
        self._admin("users", "CreateUser", user_service_pb2.CreateUserRequest(user_id=email, user=user))
        token = token_pb2.Token(user=f"users/{email}", display_name="t")
        secret = self._admin("tokens", "CreateToken", token_service_pb2.CreateTokenRequest(token=token)).secret
        return email, secret

    def team(self, name: str) -> str:
        request = team_service_pb2.CreateTeamRequest(parent=f"orgs/{self.org}", team_id=name)
        self._admin("teams", "CreateTeam", request)
        return name

    def service_account(self, team: str, owner: str, name: str) -> tuple[str, str]:
        """(token id, secret) of a new service account of `team`."""
        request = service_account_service_pb2.CreateServiceAccountRequest(
            parent=f"orgs/{self.org}/teams/{team}",
            service_account_id=name,
            service_account=service_account_pb2.ServiceAccount(owner=f"users/{owner}"),
        )
        reply = self._admin("service_accounts", "CreateServiceAccount", request)
        return reply.service_account.token.removeprefix("tokens/"), reply.secret

    def token_id(self, email: str) -> str:
        reply = self._admin("tokens", "ListTokens", token_service_pb2.ListTokensRequest(user=f"users/{email}"))
        return str(reply.tokens[0].name).removeprefix("tokens/")

    def cli(self, *args: str, token: str = ADMIN_TOKEN, check: bool = True) -> Any:
        return self.gateway.cli(*args, token=token, check=check)


@pytest.fixture
def tenant(gateway: Gateway) -> Tenant:
    org = f"org{uuid.uuid4().hex[:8]}"
    gateway.admin().orgs.CreateOrg(
        org_service_pb2.CreateOrgRequest(org_id=org), metadata=(("authorization", f"Bearer {ADMIN_TOKEN}"),)
    )
    return Tenant(gateway, org)


_clients: list[openai.OpenAI] = []


def sdk(gateway: Gateway, token: str) -> openai.OpenAI:
    """An OpenAI SDK client for `token`, closed after the test (its pooled sockets would leak otherwise)."""
    client = openai.OpenAI(base_url=gateway.v1, api_key=token, max_retries=0)
    _clients.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_sdk_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def rpc_error(exc: BaseException) -> grpc.RpcError:
    assert isinstance(exc, grpc.RpcError)
    return exc
