"""Wildcard model names: a request for a name no entry has exactly is passed through to the first matching
pattern's provider, with the matched part in the upstream model name; exact names and aliases win."""

from __future__ import annotations

import pytest

from core.errors import InvalidRequest, ModelNotFound
from core.providers.pool import ProviderPool
from core.routing.wildcards import Pattern, upstream_name
from core.settings import Settings
from tests.unit.routing.routing_fakes import Script, entry, make_router, registry_of, route_once


def test_provider_pattern_passes_the_model_name_through() -> None:
    registry = registry_of(entry("openai/*", "*"), entry("exact", "exact-up"))
    group = registry.resolve("openai/gpt-4o")
    assert group.name == "openai/gpt-4o"
    (deployment,) = group.deployments
    assert deployment.upstream_model == "gpt-4o" and deployment.id == "openai/*#0"
    assert registry.resolve("exact").deployments[0].upstream_model == "exact-up"
    with pytest.raises(ModelNotFound):
        registry.resolve("anthropic/claude")


def test_catch_all_takes_the_whole_name_and_more_specific_patterns_win() -> None:
    registry = registry_of(entry("*", "*"), entry("gpt-*", "gpt-*"), entry("gpt-4*", "four-*"))
    assert registry.resolve("llama-3").deployments[0].upstream_model == "llama-3"
    assert registry.resolve("gpt-3.5").deployments[0].upstream_model == "gpt-3.5"
    assert registry.resolve("gpt-4o").deployments[0].upstream_model == "four-o"


def test_docs_multi_star_pattern() -> None:
    """docs.litellm.ai/docs/wildcard_routing: model="fo::hi::static::hi" -> "openai/fo::*:static::*"."""
    pattern = Pattern.of("fo::*:static::*")
    captured = pattern.match("fo::hi::static::hi")
    assert captured is not None
    assert upstream_name("fo::*:static::*", "fo::hi::static::hi", captured) == "fo::hi::static::hi"
    assert pattern.match("bar::hi") is None


def test_wildcards_are_not_listed_and_serve_any_endpoint_unless_a_mode_is_set() -> None:
    registry = registry_of(
        {"model_name": "any/*", "litellm_params": {"model": "mock/*"}},
        entry("emb/*", "*", mode="embedding"),
        entry("named", "n"),
    )
    assert [g.name for g in registry.list_models()] == ["named"]
    registry.resolve("any/x").require_endpoint("embedding")
    registry.resolve("any/x").require_endpoint("chat")
    with pytest.raises(InvalidRequest):
        registry.resolve("emb/x").require_endpoint("chat")


async def test_router_serves_the_derived_model_and_keeps_one_health_per_pattern() -> None:
    registry = registry_of(entry("p/*", "*"))
    router = make_router(registry)
    calls: list[str] = []

    async def call(deployment: object) -> str:
        calls.append(deployment.upstream_model)  # type: ignore[attr-defined]
        return "ok"

    for name in ("p/a", "p/b"):
        group = registry.resolve(name)
        async with router.route(group, "chat", call, request_id="r") as routed:
            assert routed.deployment.model_name == name
    assert calls == ["a", "b"]
    assert len(router.board.deployments) == 1


async def test_provider_pool_builds_an_adapter_per_pass_through_model() -> None:
    settings = Settings.model_validate({"model_list": [entry("p/*", "*")]})
    registry = registry_of(entry("p/*", "*"))
    pool = ProviderPool.build(registry.deployments, settings)
    try:
        base = registry.deployments[0]
        derived = registry.resolve("p/x").deployments[0]
        assert pool.get(base) is pool.get(base)
        assert pool.get(derived) is pool.get(registry.resolve("p/x").deployments[0])
        assert pool.get(derived) is not pool.get(base)
    finally:
        await pool.aclose()


async def test_route_once_helper_with_wildcard() -> None:
    router = make_router(registry_of(entry("*", "*")))
    assert await route_once(router, "anything", Script()) == ("ok:anything", "anything")
