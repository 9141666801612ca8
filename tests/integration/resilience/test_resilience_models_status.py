"""ModelService.ListDeployments and `aqueduct models status` against the real servicer."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from aqueduct.v1 import chat_service_pb2, model_pb2, model_service_pb2
from aqueduct_client.cli.main import build_parser, main

from tests.integration.resilience.resilience_harness import ADMIN_METADATA, chat, deployment, gateway, settings_of
from tests.support.fake_upstream import FakeUpstream


def _settings(upstream: FakeUpstream) -> object:
    return settings_of(
        deployment("b-model", upstream, "b1", rpm=100, tpm=5000, max_parallel_requests=4, weight=2),
        deployment("a-model", upstream, "a1"),
        deployment("b-model", upstream, "b2"),
    )


async def test_list_deployments_pages_filters_and_is_for_admins(upstream: FakeUpstream) -> None:
    async with gateway(_settings(upstream)) as gw:  # type: ignore[arg-type]
        await gw.chat.CreateChatCompletion(chat_service_pb2.CreateChatCompletionRequest(params=chat("a-model")))
        first = await gw.models.ListDeployments(
            model_service_pb2.ListDeploymentsRequest(page_size=2), metadata=ADMIN_METADATA
        )
        assert [d.id for d in first.deployments] == ["a-model#1", "b-model#0"] and first.next_page_token
        rest = await gw.models.ListDeployments(
            model_service_pb2.ListDeploymentsRequest(page_size=2, page_token=first.next_page_token),
            metadata=ADMIN_METADATA,
        )
        assert [d.id for d in rest.deployments] == ["b-model#2"] and not rest.next_page_token

        a1, b1 = first.deployments
        assert (a1.state, a1.requests_last_minute, a1.in_flight) == (model_pb2.DEPLOYMENT_STATE_HEALTHY, 1, 0)
        assert a1.HasField("latency_ms") and a1.tokens_last_minute > 0 and not a1.HasField("rpm")
        assert (b1.model, b1.provider, b1.upstream_model, b1.weight) == ("b-model", "openai", "b1", 2)
        assert (b1.rpm, b1.tpm, b1.max_parallel_requests) == (100, 5000, 4) and not b1.HasField("latency_ms")

        only_b = await gw.models.ListDeployments(
            model_service_pb2.ListDeploymentsRequest(model="b-model"), metadata=ADMIN_METADATA
        )
        assert [d.upstream_model for d in only_b.deployments] == ["b1", "b2"]

        with pytest.raises(grpc.aio.AioRpcError) as info:
            await gw.models.ListDeployments(model_service_pb2.ListDeploymentsRequest())
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await gw.models.ListDeployments(
                model_service_pb2.ListDeploymentsRequest(model="nope"), metadata=ADMIN_METADATA
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_models_status_cli_prints_a_table_and_json(
    upstream: FakeUpstream, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI's channel carries a bearer token; the test interceptor ignores it but the admin marker comes
    # from metadata, so the verb runs with a stub that adds it.
    async with gateway(_settings(upstream)) as gw:  # type: ignore[arg-type]
        monkeypatch.setenv("AQUEDUCT_CORE", gw.target)
        monkeypatch.setenv("AQUEDUCT_ADMIN_TOKEN", "sk-admin-test")
        monkeypatch.setattr(
            "aqueduct_client.cli._connection.bearer_metadata",
            lambda token: (("authorization", f"Bearer {token}"), *ADMIN_METADATA),
        )
        assert await asyncio.to_thread(main, ["models", "status", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [r["id"] for r in rows] == ["a-model#1", "b-model#0", "b-model#2"]
        assert rows[1]["state"] == "healthy" and rows[1]["rpm"] == 100 and rows[1]["cooldown_until"] is None

        assert await asyncio.to_thread(main, ["models", "status", "--model", "a-model"]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == [
            "ID",
            "MODEL",
            "UPSTREAM_MODEL",
            "STATE",
            "COOLDOWN_UNTIL",
            "IN_FLIGHT",
            "LATENCY_MS",
            "ERROR_RATE",
            "REQUESTS_LAST_MINUTE",
        ]
        assert table[1].split()[:4] == ["a-model#1", "a-model", "a1", "healthy"]


def test_models_status_is_registered_with_the_cli() -> None:
    args = build_parser().parse_args(["models", "status", "--model", "x", "--json"])
    assert (args.model, args.json) == ("x", True) and callable(args.models_handler)
