"""Routing over real loopback HTTP: weighted split, retries that hide a failing deployment, fallbacks,
context-window fallbacks, cooldown and recovery (seen through ListDeployments), and x-request-id end to end."""

from __future__ import annotations

import dataclasses
from collections import Counter

import grpc
import pytest
from aqueduct.v1 import chat_pb2, chat_service_pb2, model_pb2, model_service_pb2

from tests.integration.resilience.resilience_harness import (
    ADMIN_METADATA,
    Gateway,
    chat,
    deployment,
    gateway,
    initial,
    settings_of,
)
from tests.support.fake_upstream import FakeUpstream, FakeUpstreamConfig
from tests.support.waiting import async_wait_until


async def _unary(
    gw: Gateway, model: str, request_id: str | None = None, **extra: object
) -> tuple[chat_pb2.ChatCompletion, dict[str, str]]:
    metadata = [("x-request-id", request_id)] if request_id else None
    call = gw.chat.CreateChatCompletion(
        chat_service_pb2.CreateChatCompletionRequest(params=chat(model, **extra)), metadata=metadata
    )
    response = await call
    # The routing headers are initial metadata, for unary calls as for streams.
    return response.completion, initial(await call.initial_metadata())


async def test_traffic_splits_by_weight_and_headers_name_the_deployment(upstream: FakeUpstream) -> None:
    settings = settings_of(deployment("m", upstream, "light", weight=1), deployment("m", upstream, "heavy", weight=3))
    async with gateway(settings) as gw:
        served: Counter[str] = Counter()
        for _ in range(200):
            completion, headers = await _unary(gw, "m")
            assert headers["x-aqueduct-model-group"] == "m"
            served[headers["x-aqueduct-deployment"]] += 1
            # The `model` field is the upstream's own answer.
            assert completion.model == {"m#0": "light", "m#1": "heavy"}[headers["x-aqueduct-deployment"]]
    assert 0.65 < served["m#1"] / 200 < 0.85


async def test_retries_hide_failing_deployments_and_carry_the_request_id(upstream: FakeUpstream) -> None:
    settings = settings_of(
        deployment("m", upstream, "broken", {"status": 500}),
        deployment("m", upstream, "resetting", {"reset": 1}),
        deployment("m", upstream, "good"),
        cooldown_time=0,
    )
    upstream.reset()
    async with gateway(settings) as gw:
        for i in range(30):
            completion, headers = await _unary(gw, "m", request_id=f"rid-{i}")
            assert (completion.model, headers["x-aqueduct-deployment"]) == ("good", "m#2")
        events = await gw.sink.wait_for(30)
    assert {(e.status, e.deployment, e.model) for e in events} == {(200, "good", "m")}
    assert sorted(e.request_id for e in events) == sorted(f"rid-{i}" for i in range(30))
    by_rid = Counter(r.headers["x-request-id"] for r in upstream.requests)
    # Every attempt of a request carried its id; some requests needed more than one attempt.
    assert set(by_rid) == {f"rid-{i}" for i in range(30)} and max(by_rid.values()) > 1


async def test_fallback_to_another_model_when_the_group_fails(upstream: FakeUpstream) -> None:
    settings = settings_of(
        deployment("primary", upstream, "down-1", {"status": 503}),
        deployment("primary", upstream, "down-2", {"status": 429, "retry_after_s": 60}),
        deployment("secondary", upstream, "spare"),
        fallbacks=[{"primary": ["secondary"]}],
    )
    async with gateway(settings) as gw:
        completion, headers = await _unary(gw, "primary")
        assert completion.model == "spare"
        assert headers == {"x-aqueduct-model-group": "secondary", "x-aqueduct-deployment": "secondary#2"}
        event = (await gw.sink.wait_for(1))[0]
    assert (event.status, event.model, event.deployment) == (200, "secondary", "spare")


async def test_context_window_error_falls_back_to_a_bigger_model(upstream: FakeUpstream) -> None:
    message = "This model's maximum context length is 8 tokens. However, you requested 90 tokens."
    settings = settings_of(
        deployment("small", upstream, "small-ctx", {"status": 400, "error_message": message}),
        deployment("large", upstream, "large-ctx"),
        deployment("other", upstream, "other"),
        context_window_fallbacks=[{"small": ["large"]}],
        fallbacks=[{"small": ["other"]}],
    )
    async with gateway(settings) as gw:
        completion, headers = await _unary(gw, "small")
        assert (completion.model, headers["x-aqueduct-model-group"]) == ("large-ctx", "large")
        # Any other 400 is the caller's answer: never retried, no fallback.
        upstream.reset()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await _unary(gw, "small", x_fake={"status": 400, "error_message": "temperature is too hot"})
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert len(upstream.requests) == 1


async def test_cooldown_takes_a_deployment_out_and_it_recovers(upstream: FakeUpstream) -> None:
    slow = FakeUpstream(FakeUpstreamConfig(chunks=3, latency_ms=600)).start()
    try:
        settings = settings_of(
            deployment("m", slow, "flaky", timeout=0.1),
            deployment("m", upstream, "steady"),
            allowed_fails=2,
            cooldown_time=0.5,
            num_retries=1,
        )
        async with gateway(settings) as gw:

            async def status() -> dict[str, model_pb2.Deployment]:
                listing = await gw.models.ListDeployments(
                    model_service_pb2.ListDeploymentsRequest(model="m"), metadata=ADMIN_METADATA
                )
                return {d.upstream_model: d for d in listing.deployments}

            for _ in range(40):
                _, headers = await _unary(gw, "m")
                assert headers["x-aqueduct-deployment"] == "m#1"
                if (await status())["flaky"].state == model_pb2.DEPLOYMENT_STATE_COOLING_DOWN:
                    break
            flaky = (await status())["flaky"]
            assert flaky.state == model_pb2.DEPLOYMENT_STATE_COOLING_DOWN and flaky.HasField("cooldown_until")
            assert flaky.failures_last_minute == 2 and flaky.error_rate == 1.0 and flaky.in_flight == 0
            asked = len(slow.requests)
            for _ in range(10):
                await _unary(gw, "m")
            assert len(slow.requests) == asked  # out of rotation

            # The deployment recovers; after the cooldown it is tried again and serves.
            slow.app.config = dataclasses.replace(slow.app.config, latency_ms=0)

            async def recovered() -> bool:
                return (await status())["flaky"].state == model_pb2.DEPLOYMENT_STATE_HEALTHY

            await async_wait_until(recovered, within=5, what="the cooldown to end")
            served = Counter([(await _unary(gw, "m"))[1]["x-aqueduct-deployment"] for _ in range(30)])
            assert served["m#0"] > 0 and served["m#1"] > 0
            steady = (await status())["steady"]
            assert steady.latency_ms > 0 and steady.requests_last_minute >= 10
    finally:
        slow.stop()
