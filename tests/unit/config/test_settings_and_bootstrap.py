"""Config loading (LiteLLM router format), startup validation, and the bootstrap admin credential."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.bootstrap import embedded_default_models, resolve_admin_token
from core.settings import ConfigError, Settings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aqueduct.yaml"
    path.write_text(text)
    return path


ROUTER_CONFIG = """
database_url: sqlite:///var/x.db
model_list:
  - model_name: gpt-4.1-nano
    litellm_params:
      model: openai/gpt-4.1-nano
      api_base: http://127.0.0.1:9000/v1
      api_key: os.environ/TEST_UPSTREAM_KEY
      timeout: 60
    model_info:
      mode: chat
      aliases: [main, coding]
  - model_name: local-llama
    litellm_params: {model: hosted_vllm/meta-llama/Llama-3-8B, api_base: "http://127.0.0.1:8001/v1"}
"""


def test_router_config_loads_with_env_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_UPSTREAM_KEY", "sk-up")
    settings = load_settings(write(tmp_path, ROUTER_CONFIG))
    nano, llama = settings.model_list
    assert nano.litellm_params.api_key == "sk-up"
    assert nano.litellm_params.provider == "openai" and nano.litellm_params.upstream_model == "gpt-4.1-nano"
    assert nano.model_info.aliases == ["main", "coding"]
    assert llama.litellm_params.upstream_model == "meta-llama/Llama-3-8B"
    assert llama.model_info.mode == "chat"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ROUTER_CONFIG, "TEST_UPSTREAM_KEY is not set"),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: bedrock/x}\n",
            "model_list[0] (a): unknown provider prefix 'bedrock'",
        ),
        (
            "model_list:\n"
            "  - {model_name: a, litellm_params: {model: mock/a}, model_info: {aliases: [x]}}\n"
            "  - {model_name: b, litellm_params: {model: mock/b}, model_info: {aliases: [x]}}\n",
            "model_list[1] (b): alias 'x' is already used by model 'a'",
        ),
        (
            "model_list:\n"
            "  - {model_name: a, litellm_params: {model: mock/a}}\n"
            "  - {model_name: b, litellm_params: {model: mock/b}, model_info: {aliases: [a]}}\n",
            "model_list[1] (b): alias 'a' equals the name of another model",
        ),
        ("model_list:\n  - {model_name: a, litellm_params: {model: hosted_vllm/a}}\n", "api_base is required"),
        ("- just a list\n", "must hold a mapping"),
        ("port: [1\n", "not valid YAML"),
        ("model_list:\n  - {model_name: a}\n", "model_list[0].litellm_params: Field required"),
    ],
    ids=[
        "missing-env",
        "unknown-provider",
        "duplicate-alias",
        "alias-shadows-name",
        "no-api-base",
        "not-mapping",
        "bad-yaml",
        "missing-params",
    ],
)
def test_bad_config_names_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    monkeypatch.delenv("TEST_UPSTREAM_KEY", raising=False)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_settings(write(tmp_path, text))


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml")


def test_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQUEDUCT_DATABASE_URL", "postgresql://postgres@127.0.0.1/x")
    assert load_settings().database_url == "postgresql://postgres@127.0.0.1/x"


def test_admin_token_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    first = resolve_admin_token(settings)
    assert first.generated and first.token.startswith("sk-admin-") and len(first.token) > 40
    assert first.path is not None and stat.S_IMODE(first.path.stat().st_mode) == 0o600
    again = resolve_admin_token(settings)
    assert not again.generated and again.token == first.token


def test_configured_admin_token_wins(tmp_path: Path) -> None:
    credential = resolve_admin_token(Settings(data_dir=str(tmp_path), admin_token="sk-admin-mine"))
    assert credential.token == "sk-admin-mine" and not credential.generated
    assert not (tmp_path / "admin_token").exists()


def test_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert [d.model_name for d in embedded_default_models()] == ["mock-chat", "mock-embed"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    models = embedded_default_models()
    assert all(d.litellm_params.provider == "openai" and d.litellm_params.api_key == "sk-openai" for d in models)
    assert {d.model_info.mode for d in models} == {"chat", "embedding"}
