"""LiteLLM proxy configs from LiteLLM's own documentation (tests/fixtures/litellm, with attribution) start
`aqueduct serve` unchanged and serve through the official OpenAI SDK: the master key is the admin token,
wildcards pass models through, `include:` files add models, aliases from `model_group_alias` resolve, and
each key Aqueduct does not use is named once in the log."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx2
import openai
import pytest

from tests.integration.config_compat.conftest import fixture_gateway, redis_env
from tests.support.fake_upstream import FakeUpstream
from tests.support.sdk import sdk_client

HELLO = [{"role": "user", "content": "hello"}]
NO_ADMIN_ENV = {"AQUEDUCT_ADMIN_TOKEN": ""}  # the tests' gateway sets one; here the config's master_key must do


def sdk(base: str, key: str) -> openai.OpenAI:
    return sdk_client(base_url=base, api_key=key, max_retries=0)


def upstream_request_for(upstream: FakeUpstream, model: str) -> dict[str, str]:
    """The headers of the last request the fake upstream received for upstream model `model`."""
    for request in reversed(upstream.requests):
        if isinstance(request.json, dict) and request.json.get("model") == model:
            return request.headers
    raise AssertionError(f"the upstream saw no request for {model!r}")


def test_configs_quick_start(tmp_path: Path, upstream: FakeUpstream) -> None:
    env = {**NO_ADMIN_ENV, "AZURE_API_KEY_EU": "sk-eu-key", "AZURE_API_KEY_CA": "sk-ca-key"}
    gateway = fixture_gateway("configs_quick_start.yaml", tmp_path, upstream, env=env).start()
    try:
        # general_settings.master_key is the admin token: it creates the user and token the SDK calls with.
        gateway.cli("org", "create", "acme", token="sk-1234")
        gateway.cli("user", "create", "dev@example.com", "--org", "acme", token="sk-1234")
        token = gateway.cli("token", "create", "--user", "dev@example.com", "--name", "sdk", token="sk-1234")
        client = sdk(gateway.v1, token.stdout.strip())
        served = set()
        for _ in range(12):
            reply = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)
            served.add(reply.headers["x-aqueduct-deployment"])
            assert reply.parse().choices[0].message.content
        assert served == {"gpt-4o#0", "gpt-4o#1"}  # both deployments of the group serve
        assert upstream_request_for(upstream, "gpt-4o-eu")["authorization"] == "Bearer sk-eu-key"
        assert client.chat.completions.create(model="vllm-models", messages=HELLO).model == "facebook/opt-125m"
        # "*": a model the config does not name goes to the catch-all's provider, under its own name.
        passed = client.chat.completions.with_raw_response.create(model="claude-3-haiku-20240307", messages=HELLO)
        assert passed.parse().model == "claude-3-haiku-20240307"
        assert passed.headers["x-aqueduct-deployment"] == "*#3"
        ids = [m.id for m in client.models.list()]
        assert ids == ["gpt-4o", "vllm-models"]  # the pattern is not a model of its own
        # As everywhere in Aqueduct, the admin credential administers; inference is attributed to a token.
        with pytest.raises(openai.PermissionDeniedError, match="API token"):
            sdk(gateway.v1, "sk-1234").chat.completions.create(model="gpt-4o", messages=HELLO)
        with pytest.raises(openai.AuthenticationError):
            sdk(gateway.v1, "sk-12345").chat.completions.create(model="gpt-4o", messages=HELLO)
        assert gateway.cli("org", "list", token="sk-12345", check=False).returncode != 0
    finally:
        assert gateway.stop() == 0
    log = gateway.log
    for key in ("general_settings.alerting", "litellm_settings.success_callback"):
        assert log.count(f"config: {key} is not supported by Aqueduct and is ignored") == 1, log


def test_reliability_advanced(tmp_path: Path, upstream: FakeUpstream) -> None:
    gateway = fixture_gateway("reliability_advanced.yaml", tmp_path, upstream).start()
    try:
        client = sdk(gateway.v1, gateway.create_user_token("rel", "rel@example.com"))
        reply = client.chat.completions.create(model="zephyr-beta", messages=HELLO)
        assert reply.model == "HuggingFaceH4/zephyr-7b-beta"
        assert client.chat.completions.create(model="gpt-3.5-turbo", messages=HELLO).model == "gpt-3.5-turbo"
        assert upstream_request_for(upstream, "gpt-3.5-turbo")["authorization"] == "Bearer <my-openai-key>"
    finally:
        assert gateway.stop() == 0
    assert "is not supported by Aqueduct" not in gateway.log  # every key of this file is used


def test_load_balancing_with_redis_and_group_alias(tmp_path: Path, upstream: FakeUpstream) -> None:
    prefix = f"\nrate_limit_redis_prefix: 'aqueduct-test:{uuid.uuid4().hex}:'\n"
    gateway = fixture_gateway("load_balancing.yaml", tmp_path, upstream, env=redis_env(), append=prefix).start()
    try:
        health = httpx2.get(gateway.base_url + "/health", timeout=5).json()
        assert health["details"]["rate_limits"] == "redis"  # router_settings.redis_host / port / password / db
        client = sdk(gateway.v1, gateway.create_user_token("lb", "lb@example.com"))
        reply = client.chat.completions.with_raw_response.create(model="gpt-4", messages=HELLO)
        assert reply.headers["x-aqueduct-model-group"] == "gpt-4o"  # model_group_alias
        served = {
            client.chat.completions.with_raw_response.create(model="zephyr-beta", messages=HELLO).headers[
                "x-aqueduct-deployment"
            ]
            for _ in range(20)
        }
        assert served <= {"zephyr-beta#0", "zephyr-beta#1", "zephyr-beta#2"} and len(served) >= 2
    finally:
        assert gateway.stop() == 0


def test_include(tmp_path: Path, upstream: FakeUpstream) -> None:
    gateway = fixture_gateway("include_parent.yaml", tmp_path, upstream, includes=("model_config.yaml",)).start()
    try:
        client = sdk(gateway.v1, gateway.create_user_token("inc", "inc@example.com"))
        assert sorted(m.id for m in client.models.list()) == ["fake-anthropic-endpoint", "gpt-4o"]
        stream = client.chat.completions.create(model="fake-anthropic-endpoint", messages=HELLO, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    finally:
        assert gateway.stop() == 0
    assert gateway.log.count("config: litellm_settings.callbacks is not supported by Aqueduct") == 1


def test_wildcard_routing(tmp_path: Path, upstream: FakeUpstream) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-test", "GROQ_API_KEY": "gsk-test", "OPENAI_API_KEY": "sk-oai-test"}
    gateway = fixture_gateway("wildcard_routing.yaml", tmp_path, upstream, env=env).start()
    try:
        client = sdk(gateway.v1, gateway.create_user_token("wild", "wild@example.com"))
        reply = client.chat.completions.with_raw_response.create(model="anthropic/claude-3-5-sonnet", messages=HELLO)
        assert reply.parse().model == "claude-3-5-sonnet"
        assert reply.headers["x-aqueduct-model-group"] == "anthropic/claude-3-5-sonnet"
        assert upstream_request_for(upstream, "claude-3-5-sonnet")["authorization"] == "Bearer sk-ant-test"
        assert client.chat.completions.create(model="groq/llama-3.1-8b", messages=HELLO).model == "llama-3.1-8b"
        assert client.chat.completions.create(model="fo::hi::static::hi", messages=HELLO).model == "fo::hi::static::hi"
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="mistral/large", messages=HELLO)
    finally:
        assert gateway.stop() == 0


def test_all_settings_example(tmp_path: Path, upstream: FakeUpstream) -> None:
    env = {**NO_ADMIN_ENV, "AQ_TEST_DATABASE_URL": f"sqlite:///{tmp_path / 'from-general-settings.db'}"}
    gateway = fixture_gateway("all_settings.yaml", tmp_path, upstream, env=env).start()
    try:
        gateway.cli("org", "create", "all", token="sk-all-settings-master")
        gateway.cli("user", "create", "all@example.com", "--org", "all", token="sk-all-settings-master")
        made = gateway.cli(
            "token", "create", "--user", "all@example.com", "--name", "t", token="sk-all-settings-master"
        )
        client = sdk(gateway.v1, made.stdout.strip())
        vectors = client.embeddings.create(model="string", input="hi")
        assert len(vectors.data[0].embedding) == 8
    finally:
        assert gateway.stop() == 0
    assert (tmp_path / "from-general-settings.db").exists()  # general_settings.database_url is used
    log = gateway.log
    for key in ("general_settings.alerting", "litellm_settings.cache_params", "router_settings.retry_policy"):
        assert log.count(f"config: {key} is not supported by Aqueduct and is ignored") == 1, log
    assert log.count("config: callback_settings is not supported by Aqueduct and is ignored") == 1
