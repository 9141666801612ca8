"""LiteLLM's proxy sections and the original Aqueduct's top-level router keys: mapped where Aqueduct has the
feature, logged once where it does not, an error (with a "did you mean") for anything else; `include:` and
`environment_variables`; every problem of a file reported at once with its location."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from core.config.loader import apply_environment, inspect_config
from core.routing import validate_router_settings
from core.settings import ConfigError, load_settings, log_ignored_settings

MODEL = "model_list:\n  - {model_name: m, litellm_params: {model: mock/m}}\n"


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_general_settings_master_key_and_database_url_are_used(tmp_path: Path) -> None:
    text = MODEL + "general_settings:\n  master_key: sk-master-1234\n  database_url: sqlite:///other.db\n"
    settings = load_settings(write(tmp_path, text))
    assert settings.admin_token == "sk-master-1234"
    assert settings.database_url == "sqlite:///other.db"


def test_general_settings_resolves_env_refs_and_maps_the_other_features(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_MASTER", "sk-from-env")
    text = MODEL + (
        "general_settings:\n  master_key: os.environ/LITELLM_MASTER\n  max_request_size_mb: 2\n"
        "  user_api_key_cache_ttl: 7\n  max_parallel_requests: 9\n"
    )
    settings = load_settings(write(tmp_path, text))
    assert settings.admin_token == "sk-from-env"
    assert settings.max_request_body_bytes == 2 * 1024 * 1024
    assert settings.token_cache_ttl_seconds == 7
    assert validate_router_settings(settings).max_parallel_requests == 9


def test_aqueduct_names_win_but_must_agree_with_general_settings(tmp_path: Path) -> None:
    same = MODEL + "admin_token: sk-a\ngeneral_settings: {master_key: sk-a}\n"
    assert load_settings(write(tmp_path, same)).admin_token == "sk-a"
    differ = MODEL + "database_url: sqlite:///a.db\ngeneral_settings: {database_url: 'sqlite:///b.db'}\n"
    with pytest.raises(ConfigError, match=r"database_url: differs from general_settings.database_url"):
        load_settings(write(tmp_path, differ))


def test_admin_token_from_the_environment_wins_over_master_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQUEDUCT_ADMIN_TOKEN", "sk-env-admin")
    settings = load_settings(write(tmp_path, MODEL + "general_settings: {master_key: sk-file}\n"))
    assert settings.admin_token == "sk-env-admin"


def test_litellm_settings_are_mapped(tmp_path: Path) -> None:
    text = (
        "model_list:\n  - {model_name: m, litellm_params: {model: mock/m}}\n"
        "  - {model_name: m2, litellm_params: {model: mock/m2}}\n"
        "litellm_settings:\n  drop_params: true\n  num_retries: 5\n  request_timeout: 12\n  set_verbose: true\n"
        "  json_logs: true\n  allowed_fails: 4\n  cooldown_time: 9\n"
        "  fallbacks: [{m: [m2]}]\n  context_window_fallbacks: [{m: [m2]}]\n  default_fallbacks: [m2]\n"
    )
    settings = load_settings(write(tmp_path, text))
    assert settings.drop_params is True
    assert settings.default_timeout_seconds == 12
    assert (settings.log_level, settings.log_json) == ("debug", True)
    router = validate_router_settings(settings)
    assert (router.num_retries, router.allowed_fails, router.cooldown_time) == (5, 4, 9)
    assert router.fallbacks == [{"m": ["m2"]}] and router.context_window_fallbacks == [{"m": ["m2"]}]
    assert router.default_fallbacks == ["m2"]
    assert settings.notices == ()


ROUTER_LAYERS = """
model_list:
  - {model_name: m, litellm_params: {model: mock/m}}
litellm_settings: {num_retries: 1, allowed_fails: 7, request_timeout: 11}
num_retries: 2
cooldown_time: 3
timeout: 22
routing_strategy: least-busy
router_settings: {num_retries: 3}
"""


def test_router_precedence_router_settings_over_top_level_over_litellm_settings(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ROUTER_LAYERS))
    router = validate_router_settings(settings)
    assert router.num_retries == 3  # router_settings
    assert router.cooldown_time == 3  # the original Aqueduct's top-level key
    assert router.allowed_fails == 7  # litellm_settings
    assert router.routing_strategy == "least-busy"
    assert settings.default_timeout_seconds == 22  # top-level `timeout` over litellm_settings.request_timeout
    explicit = load_settings(write(tmp_path, ROUTER_LAYERS + "default_timeout_seconds: 44\n"))
    assert explicit.default_timeout_seconds == 44  # Aqueduct's own name wins


def test_original_aqueduct_router_config_loads(tmp_path: Path) -> None:
    """The original Aqueduct passes its router config to LiteLLM's Router(): its keys are top-level."""
    text = (
        "model_list:\n  - {model_name: a, litellm_params: {model: mock/a}}\n"
        "  - {model_name: b, litellm_params: {model: mock/b}}\n"
        "num_retries: 4\nretry_after: 0.5\nallowed_fails: 2\ncooldown_time: 15\n"
        "fallbacks: [{a: [b]}]\ncontext_window_fallbacks: [{a: [b]}]\ndefault_max_parallel_requests: 8\n"
        "routing_strategy: usage-based-routing\ntimeout: 30\nstream_timeout: 5\nset_verbose: false\n"
        "model_group_alias: {alias-a: a}\ncache_responses: false\n"
    )
    settings = load_settings(write(tmp_path, text))
    router = validate_router_settings(settings)
    assert router.num_retries == 4 and router.retry_backoff_seconds == 0.5
    assert (router.allowed_fails, router.cooldown_time, router.max_parallel_requests) == (2, 15, 8)
    assert router.fallbacks == [{"a": ["b"]}] and router.context_window_fallbacks == [{"a": ["b"]}]
    assert router.routing_strategy == "usage-based-routing-v2"
    assert (settings.default_timeout_seconds, settings.default_stream_timeout_seconds) == (30, 5)
    assert settings.model_list[0].model_info.aliases == ["alias-a"]
    assert settings.notices == ("config: cache_responses is not supported by Aqueduct and is ignored",)


def test_redis_host_port_password_become_the_redis_url(tmp_path: Path) -> None:
    text = (
        MODEL + "router_settings: {redis_host: cache.internal, redis_port: 6380, redis_password: 'p@ss', redis_db: 3}\n"
    )
    assert load_settings(write(tmp_path, text)).redis_url == "redis://:p%40ss@cache.internal:6380/3"
    explicit = MODEL + "redis_url: redis://other:6379/1\nrouter_settings: {redis_host: cache.internal}\n"
    assert load_settings(write(tmp_path, explicit)).redis_url == "redis://other:6379/1"


def test_cost_based_routing_is_not_supported_and_says_so(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MODEL + "router_settings: {routing_strategy: cost-based-routing}\n"))
    assert validate_router_settings(settings).routing_strategy == "simple-shuffle"
    assert any("cost-based-routing is not supported" in n for n in settings.notices)


def test_disable_cooldowns(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MODEL + "router_settings: {disable_cooldowns: true}\n"))
    assert validate_router_settings(settings).cooldown_time == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "general_settings: {master_kye: sk-1}\n",
            "general_settings: unknown setting 'master_kye'; did you mean 'master_key'?",
        ),
        ("general_settings: {databse_url: x}\n", "did you mean 'database_url'?"),
        (
            "litellm_settings: {drop_param: true}\n",
            "litellm_settings: unknown setting 'drop_param'; did you mean 'drop_params'?",
        ),
        (
            "router_settings: {num_retrys: 1}\n",
            "router_settings: unknown setting 'num_retrys'; did you mean 'num_retries'?",
        ),
        ("routing_stratgy: least-busy\n", "unknown setting 'routing_stratgy'; did you mean 'routing_strategy'?"),
        ("general_settings: [1]\n", "general_settings: must be a mapping"),
        ("environment_variables: [A]\n", "environment_variables: must be a mapping"),
        ("router_settings: {routing_strategy: fastest}\n", "router_settings.routing_strategy: Input should be"),
        (
            "  - {model_name: c, litellm_params: {model: mock/c}, model_info: {input_cost_per_token: -1}}\n",
            "model_list[1].model_info.input_cost_per_token: Input should be greater than or equal to 0",
        ),
        (
            "  - {model_name: c, litellm_params: {model: mock/c, output_cost_per_token: abc}}\n",
            "model_list[1].litellm_params.output_cost_per_token: Input should be a valid number",
        ),
        (
            "router_settings: {model_group_alias: {x: nope}}\n",
            "router_settings.model_group_alias.x: unknown model 'nope'",
        ),
        ("router_settings: {redis_port: 1}\n", "router_settings.redis_host: is required"),
    ],
)
def test_bad_keys_and_values_name_their_location(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, MODEL + text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)  # the file is named


def test_every_problem_is_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE_1", raising=False)
    text = (
        "model_list:\n"
        "  - {model_name: a, litellm_params: {model: mock/a, api_key: os.environ/NOT_SET_ANYWHERE_1}}\n"
        "  - {model_name: b, litellm_params: {model: bedrock/b}}\n"
        "databse_url: x\n"
        "general_settings: {master_kye: y}\n"
        "router_settings: {num_retries: -1, fallbacks: [{a: [zzz]}]}\n"
    )
    inspection = inspect_config(write(tmp_path, text))
    lines = [str(p) for p in inspection.findings.problems]
    assert len(lines) == 6, lines
    expected = [
        "unknown setting 'databse_url'",
        "general_settings: unknown setting 'master_kye'",
        "model_list[0].litellm_params.api_key: environment variable NOT_SET_ANYWHERE_1 is not set",
        "model_list[1] (b): unknown provider prefix 'bedrock'",
        "router_settings.num_retries: Input should be greater than or equal to 0",
        "router_settings.fallbacks[0].a: unknown model 'zzz'",
    ]
    for fragment in expected:
        assert any(fragment in line for line in lines), (fragment, lines)
    assert not inspection.ok


def test_unsupported_keys_are_logged_once_each_as_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = MODEL + (
        "general_settings: {alerting: [slack], alerting_threshold: 300, store_model_in_db: true}\n"
        "litellm_settings: {success_callback: [langfuse], cache: true, cache_params: {password: os.environ/NOT_SET}}\n"
        "router_settings: {enable_pre_call_checks: true, retry_policy: {}}\n"
        "guardrails: []\ncallback_settings: {}\nrouting_strategy_args: {ttl: 1}\n"
    )
    settings = load_settings(write(tmp_path, text))  # os.environ/ refs in ignored keys are not resolved
    with caplog.at_level(logging.WARNING, logger="aqueduct.core.settings"):
        log_ignored_settings(settings)
    lines = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    keys = [
        "callback_settings",
        "general_settings.alerting",
        "general_settings.alerting_threshold",
        "general_settings.store_model_in_db",
        "guardrails",
        "litellm_settings.cache",
        "litellm_settings.cache_params",
        "litellm_settings.success_callback",
        "router_settings.enable_pre_call_checks",
        "router_settings.retry_policy",
        "routing_strategy_args",
    ]
    assert lines == sorted(f"config: {k} is not supported by Aqueduct and is ignored" for k in keys)


def test_environment_variables_apply_before_env_refs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTREAM_KEY_X", "from-process")
    monkeypatch.delenv("ONLY_IN_FILE_X", raising=False)
    text = (
        "environment_variables: {UPSTREAM_KEY_X: from-file, ONLY_IN_FILE_X: 'sk-file', PORT_X: 8080}\n"
        "model_list:\n  - {model_name: m, litellm_params: {model: mock/m, api_key: os.environ/UPSTREAM_KEY_X}}\n"
        "  - {model_name: n, litellm_params: {model: mock/n, api_key: os.environ/ONLY_IN_FILE_X}}\n"
    )
    settings = load_settings(write(tmp_path, text))
    assert [d.litellm_params.api_key for d in settings.model_list] == ["from-file", "sk-file"]
    assert settings.environment_variables == {
        "UPSTREAM_KEY_X": "from-file",
        "ONLY_IN_FILE_X": "sk-file",
        "PORT_X": "8080",
    }
    assert "ONLY_IN_FILE_X" not in os.environ  # loading has no side effect...
    apply_environment(settings)  # ...the server commands apply them at startup
    assert os.environ["ONLY_IN_FILE_X"] == "sk-file"
    monkeypatch.delenv("ONLY_IN_FILE_X")
    monkeypatch.delenv("PORT_X")


def test_environment_variables_can_set_aqueduct_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AQUEDUCT_LOG_LEVEL", raising=False)
    settings = load_settings(write(tmp_path, MODEL + "environment_variables: {AQUEDUCT_LOG_LEVEL: warning}\n"))
    assert settings.log_level == "warning"


def test_include_merges_model_lists_and_sections(tmp_path: Path) -> None:
    write(tmp_path, "model_list:\n  - {model_name: b, litellm_params: {model: mock/b}}\n", "models.yaml")
    write(tmp_path, "litellm_settings: {num_retries: 6}\n", "more.yaml")
    text = "include: [models.yaml, more.yaml]\n" + MODEL + "litellm_settings: {drop_params: true}\n"
    settings = load_settings(write(tmp_path, text))
    assert [d.model_name for d in settings.model_list] == ["m", "b"]
    assert settings.drop_params is True and validate_router_settings(settings).num_retries == 6


def test_include_problems_name_the_included_file(tmp_path: Path) -> None:
    included = write(tmp_path, "model_list:\n  - {model_name: b, litellm_params: {model: nope/b}}\nzzz: 1\n", "m.yaml")
    inspection = inspect_config(write(tmp_path, "include: [m.yaml, missing.yaml]\n" + MODEL))
    lines = [str(p) for p in inspection.findings.problems]
    assert any("model_list[1] (b): unknown provider prefix 'nope'" in x and str(included) in x for x in lines), lines
    assert any("unknown setting 'zzz'" in x and str(included) in x for x in lines), lines
    assert any("cannot read config file" in x and "missing.yaml" in x for x in lines), lines


def test_include_clash_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "general_settings: {master_key: sk-2}\n", "a.yaml")
    text = "include: a.yaml\n" + MODEL + "general_settings: {master_key: sk-1}\n"
    with pytest.raises(ConfigError, match=r"general_settings.master_key: set differently in"):
        load_settings(write(tmp_path, text))


def test_model_info_cost_fields_are_accepted(tmp_path: Path) -> None:
    text = (
        "model_list:\n  - model_name: m\n    litellm_params: {model: mock/m, input_cost_per_token: 0.000002}\n"
        "    model_info:\n      input_cost_per_token: 1e-6\n      output_cost_per_token: '2e-6'\n"
        "      cache_read_input_token_cost: 0\n      input_cost_per_image: 0.01\n      input_cost_per_second: 0.001\n"
        "      output_cost_per_character: 0.00001\n      max_tokens: 4096\n      base_model: gpt-4\n"
    )
    entry = load_settings(write(tmp_path, text)).model_list[0]
    assert entry.model_info.input_cost_per_token == 1e-6 and entry.model_info.output_cost_per_token == 2e-6
    assert entry.model_info.input_cost_per_image == 0.01 and entry.litellm_params.input_cost_per_token == 2e-6


def test_wildcard_upstream_needs_a_wildcard_name(tmp_path: Path) -> None:
    text = "model_list:\n  - {model_name: plain, litellm_params: {model: 'openai/*'}}\n"
    with pytest.raises(ConfigError, match=r"model_list\[0\] \(plain\): litellm_params.model 'openai/\*' has a"):
        load_settings(write(tmp_path, text))


def test_entry_level_rpm_tpm_are_litellm_params_and_other_entry_keys_are_errors(tmp_path: Path) -> None:
    text = "model_list:\n  - {model_name: m, litellm_params: {model: mock/m}, rpm: 6, tpm: 900}\n"
    params = load_settings(write(tmp_path, text)).model_list[0].litellm_params
    assert (params.rpm, params.tpm) == (6, 900)
    typo = "model_list:\n  - {model_name: m, litellm_params: {model: mock/m}, model_inf: {mode: chat}}\n"
    with pytest.raises(ConfigError, match=r"model_list\[0\]: unknown setting 'model_inf'; did you mean 'model_info'\?"):
        load_settings(write(tmp_path, typo))
