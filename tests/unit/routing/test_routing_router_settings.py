"""router_settings parsing: documented defaults, LiteLLM keys, clear errors, and fallback validation."""

from __future__ import annotations

import pytest

from core.routing import ModelRegistry, Router, RouterSettings, router_settings_of
from core.routing.windows import SlidingSum
from core.settings import ConfigError, Settings
from tests.unit.routing.routing_fakes import entry


def _settings(router_settings: dict[str, object]) -> Settings:
    return Settings.model_validate(
        {"model_list": [entry("m", "a"), entry("n", "b")], "router_settings": router_settings}
    )


def test_defaults_match_the_documentation() -> None:
    s = router_settings_of(_settings({}))
    assert (s.routing_strategy, s.num_retries, s.allowed_fails, s.cooldown_time) == ("simple-shuffle", 2, 3, 30.0)
    assert (s.fallbacks, s.context_window_fallbacks, s.default_fallbacks) == ([], [], [])
    assert s.max_parallel_requests is None


def test_litellm_router_settings_load_and_unknown_keys_are_ignored() -> None:
    s = router_settings_of(
        _settings(
            {
                "routing_strategy": "least-busy",
                "num_retries": 4,
                "allowed_fails": 5,
                "cooldown_time": 10,
                "fallbacks": [{"m": ["n"]}],
                "redis_host": "localhost",
                "enable_pre_call_checks": True,
            }
        )
    )
    assert (s.routing_strategy, s.num_retries, s.allowed_fails, s.cooldown_time) == ("least-busy", 4, 5, 10)
    assert s.fallbacks == [{"m": ["n"]}]


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"routing_strategy": "usage-based-routing"}, "router_settings.routing_strategy"),
        ({"num_retries": -1}, "router_settings.num_retries"),
        ({"allowed_fails": 0}, "router_settings.allowed_fails"),
        ({"fallbacks": {"m": "n"}}, "router_settings.fallbacks"),
    ],
)
def test_bad_values_are_config_errors_naming_the_key(raw: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        router_settings_of(_settings(raw))


@pytest.mark.parametrize(
    "raw",
    [{"fallbacks": [{"m": ["nope"]}]}, {"context_window_fallbacks": [{"ghost": ["n"]}]}, {"default_fallbacks": "x"}],
)
def test_fallbacks_to_unknown_models_fail_at_startup(raw: dict[str, object]) -> None:
    settings = _settings(raw)
    with pytest.raises(ConfigError, match="unknown model"):
        Router(ModelRegistry.from_settings(settings), router_settings_of(settings))


def test_settings_model_is_immutable() -> None:
    with pytest.raises(ValueError):
        RouterSettings().num_retries = 3  # type: ignore[misc]


def test_sliding_sum_forgets_what_left_the_window() -> None:
    # Per-second buckets: an amount leaves when its whole second has, up to 1 s late and never early.
    window = SlidingSum(60)
    window.add(0, 2)
    window.add(30, 3)
    assert window.total(59) == 5 and window.frees_in(59) == 2
    assert window.total(60.5) == 5 and window.total(61) == 3
    assert window.total(91) == 0 and window.frees_in(91) == 0


def test_sliding_sum_memory_does_not_grow_with_traffic() -> None:
    window = SlidingSum(60)
    for i in range(100_000):
        window.add(i * 0.001)  # 1,000 calls a second for 100 s
    assert window.total(100) == 60_000 and len(window._entries) == 60


def test_validate_router_settings_checks_fallbacks_before_start() -> None:
    from core.routing import validate_router_settings

    assert validate_router_settings(_settings({"fallbacks": [{"m": ["n"]}]})).fallbacks == [{"m": ["n"]}]
    with pytest.raises(ConfigError, match=r"router_settings\.fallbacks\[0\]\.m: unknown model 'x'"):
        validate_router_settings(_settings({"fallbacks": [{"m": ["x"]}]}))
