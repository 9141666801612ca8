"""Top-level config keys are checked: a typo is an error naming the key and the closest known one, LiteLLM
proxy sections are accepted and logged as ignored, and `redis_url` is checked (without connecting) when the
settings load, so a bad one stops startup with a message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.settings import ConfigError, load_settings, log_ignored_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aqueduct.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("redis_ulr: redis://127.0.0.1:6379/0\n", "unknown setting 'redis_ulr'; did you mean 'redis_url'?"),
        ("databse_url: sqlite:///x.db\n", "unknown setting 'databse_url'; did you mean 'database_url'?"),
        ("litellm_setings: {drop_params: true}\n", "did you mean 'litellm_settings'?"),
        ("log_prompts: true\n", "unknown setting 'log_prompts'"),  # removed: it was read nowhere
        ("zzzz: 1\n", "config: unknown setting 'zzzz'"),
    ],
)
def test_unknown_top_level_key_is_an_error_with_a_suggestion(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    assert message in str(err.value)


def test_litellm_sections_are_mapped_and_unused_keys_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        "litellm_settings: {drop_params: true, cache_params: {password: os.environ/NOT_SET_ANYWHERE}}\n"
        "general_settings: {master_key: sk-1234}\n"
        "environment_variables: {REDIS_HOST: localhost}\n"
        "router_settings: {redis_host: localhost}\n"
    )
    settings = load_settings(write(tmp_path, text))  # os.environ/ refs in ignored keys are not resolved
    assert settings.drop_params is True
    assert settings.admin_token == "sk-1234"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.environment_variables == {"REDIS_HOST": "localhost"}
    with caplog.at_level(logging.INFO, logger="aqueduct.core.settings"):
        log_ignored_settings(settings)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["config: litellm_settings.cache_params is not supported by Aqueduct and is ignored"]


def test_token_cache_max_entries_is_a_declared_setting(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "token_cache_max_entries: 50\n")).token_cache_max_entries == 50
    assert load_settings().token_cache_max_entries == 10_000
    with pytest.raises(ConfigError, match="token_cache_max_entries"):
        load_settings(write(tmp_path, "token_cache_max_entries: 0\n"))


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://user:pw@cache.internal:6380/2?protocol=3",
        "rediss://cache.internal:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem",
        "unix:///run/redis/redis.sock?db=3",
        "redis+sentinel://s1:26379,s2:26380/mymaster/1?sentinel_password=x",
        "rediss+sentinel://s1/mymaster",
    ],
)
def test_supported_redis_urls_load(tmp_path: Path, url: str) -> None:
    assert load_settings(write(tmp_path, f"redis_url: '{url}'\n")).redis_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cache:6379", "unsupported Redis URL scheme http://"),
        ("cache:6379", "no '://' found"),
        ("redis://cache:port/0", "the port in the Redis URL is not a number"),
        ("redis://cache:6379/zero", "the database in a Redis URL is a number"),
        ("redis://cache:6379/0?sokcet_timeout=1", "unsupported option in the Redis URL"),
        ("redis://cache:6379/0?db=x", "Invalid value for 'db'"),
        ("unix://", "needs the socket's path"),
        ("redis+sentinel://s1:26379", "ends with /SERVICE_NAME"),
    ],
)
def test_bad_redis_url_is_a_config_error(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, f"redis_url: '{url}'\n"))
    assert str(err.value).startswith("config: redis_url:") and message in str(err.value)


def test_bad_redis_url_from_the_environment_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQUEDUCT_REDIS_URL", "redis//nohost")
    with pytest.raises(ConfigError, match="redis_url"):
        load_settings()
