from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from core.errors import InvalidRequest, ModelNotFound
from core.routing import ModelRegistry, WeightedShuffle
from core.settings import Settings


def _settings(*entries: dict[str, Any], **extra: Any) -> Settings:
    return Settings.model_validate({"model_list": list(entries), **extra})


def _entry(
    name: str, model: str, mode: str = "chat", aliases: list[str] | None = None, **params: Any
) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {"model": model, "api_base": "http://127.0.0.1:9/v1", **params},
        "model_info": {"mode": mode, "aliases": aliases or []},
    }


def test_entries_with_one_name_form_one_group_and_aliases_resolve_to_it() -> None:
    registry = ModelRegistry.from_settings(
        _settings(
            _entry("chat", "openai/a", aliases=["main"]),
            _entry("chat", "hosted_vllm/b", aliases=["primary"]),
            _entry("embed", "mock/e", mode="embedding"),
        )
    )
    group = registry.resolve("main")
    assert group.name == "chat"
    assert registry.resolve("primary") is group
    assert group.aliases == ("main", "primary")
    assert [d.upstream_model for d in group.deployments] == ["a", "b"]
    assert [d.id for d in group.deployments] == ["chat#0", "chat#1"]
    assert [g.name for g in registry.list_models()] == ["chat", "embed"]


def test_unknown_model_raises_openai_style_message() -> None:
    registry = ModelRegistry.from_settings(_settings(_entry("chat", "mock/x")))
    with pytest.raises(ModelNotFound) as info:
        registry.resolve("gpt-5")
    assert info.value.message == "The model `gpt-5` does not exist or you do not have access to it."
    assert info.value.field == "model"


def test_list_models_is_sorted_by_id() -> None:
    registry = ModelRegistry.from_settings(_settings(_entry("zeta", "mock/z"), _entry("alpha", "mock/a")))
    assert [g.name for g in registry.list_models()] == ["alpha", "zeta"]


@pytest.mark.parametrize(
    ("mode", "endpoint", "ok"),
    [
        ("chat", "chat", True),
        ("chat", "completion", True),
        ("chat", "embedding", False),
        ("embedding", "chat", False),
        ("embedding", "embedding", True),
        ("completion", "chat", False),
        ("completion", "completion", True),
    ],
)
def test_wrong_endpoint_is_an_invalid_request_naming_model(mode: str, endpoint: str, ok: bool) -> None:
    group = ModelRegistry.from_settings(_settings(_entry("m", "mock/m", mode=mode))).resolve("m")
    if ok:
        group.require_endpoint(endpoint)
        return
    with pytest.raises(InvalidRequest) as info:
        group.require_endpoint(endpoint)
    assert info.value.field == "model"
    assert "`m`" in info.value.message


def test_deployment_timeouts_fall_back_to_settings() -> None:
    settings = _settings(
        _entry("a", "openai/a", timeout=5, stream_timeout=2, connect_timeout=1),
        _entry("b", "openai/b"),
        default_timeout_seconds=30,
        default_stream_timeout_seconds=7,
        default_connect_timeout_seconds=3,
    )
    registry = ModelRegistry.from_settings(settings)
    a = registry.resolve("a").deployments[0]
    b = registry.resolve("b").deployments[0]
    assert (a.timeout_seconds, a.stream_timeout_seconds, a.connect_timeout_seconds) == (5, 2, 1)
    assert (b.timeout_seconds, b.stream_timeout_seconds, b.connect_timeout_seconds) == (30, 7, 3)
    assert "api_key" not in repr(a)


def test_weighted_shuffle_prefers_heavier_deployments_and_keeps_all() -> None:
    settings = _settings(_entry("m", "openai/light", weight=1), _entry("m", "openai/heavy", weight=3))
    group = ModelRegistry.from_settings(settings).resolve("m")
    selector = WeightedShuffle(random.Random(7))
    firsts = Counter(selector.order(group.deployments)[0].upstream_model for _ in range(4000))
    assert 0.70 < firsts["heavy"] / 4000 < 0.80
    ordered = selector.order(group.deployments)
    assert sorted(d.upstream_model for d in ordered) == ["heavy", "light"]


def test_model_info_created_and_owned_by_are_used_when_configured() -> None:
    entry = _entry("m", "mock/m")
    entry["model_info"].update(created=1700000000, owned_by="acme")
    group = ModelRegistry.from_settings(_settings(entry, _entry("n", "mock/n"))).resolve("m")
    assert (group.created, group.owned_by) == (1700000000, "acme")
    other = ModelRegistry.from_settings(_settings(_entry("n", "mock/n"))).resolve("n")
    assert (other.created, other.owned_by) == (0, "aqueduct")
