"""`aqueduct config check FILE` as a subprocess: every problem of a broken file at once with its location,
exit 1; a good file exits 0 and lists the resolved models with secrets masked; nothing is started."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.gateway import AQUEDUCT, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "litellm"


def check(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AQUEDUCT_")}
    environment.update(env)
    return subprocess.run(
        [AQUEDUCT, "config", "check", str(path)], capture_output=True, text=True, timeout=60, env=environment
    )


BROKEN = """
include: [models.yaml]
databse_url: sqlite:///x.db
general_settings:
  master_kye: sk-1234
  alerting: [slack]
litellm_settings:
  num_retries: many
router_settings:
  routing_strategy: fastest-possible
  fallbacks: [{gpt-4o: [gpt-5-nonexistent]}]
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/CHECK_TEST_MISSING_KEY
"""

BROKEN_INCLUDED = """
model_list:
  - model_name: llama
    litellm_params: {model: bedrock/llama}
  - model_name: priced
    litellm_params: {model: openai/p, api_base: 'http://127.0.0.1:9/v1'}
    model_info: {input_cost_per_token: -0.5}
"""


def test_broken_file_lists_every_problem_with_its_location(tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text(BROKEN_INCLUDED)
    main = tmp_path / "config.yaml"
    main.write_text(BROKEN)
    result = check(main)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    included = str(tmp_path / "models.yaml")
    expected = [
        f"config: unknown setting 'databse_url'; did you mean 'database_url'? ({main})",
        f"config: general_settings: unknown setting 'master_kye'; did you mean 'master_key'? ({main})",
        "config: model_list[0].litellm_params.api_key: environment variable CHECK_TEST_MISSING_KEY is not set "
        f"({main})",
        "config: model_list[2].model_info.input_cost_per_token: Input should be greater than or equal to 0 "
        f"({included})",
        "config: router_settings.fallbacks[0].gpt-4o: unknown model 'gpt-5-nonexistent'",
        "config: router_settings.num_retries: Input should be a valid integer",
        "config: router_settings.routing_strategy: Input should be",
        "config: model_list[1] (llama): unknown provider prefix 'bedrock'",
    ]
    for line in expected:
        assert line in out, (line, out)
    assert f"{main} (including {included}): " in out
    assert "config: general_settings.alerting is not supported by Aqueduct and is ignored" in out
    assert "Traceback" not in result.stderr
    assert f"aqueduct: {main}: 8 problem(s), listed above" in result.stderr


def test_good_file_exits_0_and_masks_secrets(tmp_path: Path) -> None:
    env = {
        "AQ_TEST_UPSTREAM": "http://127.0.0.1:9/v1",
        "AZURE_API_KEY_EU": "sk-eu-secret-0123456789abcdef",
        "AZURE_API_KEY_CA": "sk-ca-secret-0123456789abcdef",
    }
    result = check(FIXTURES / "configs_quick_start.yaml", **env)
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert ": OK" in out
    assert "gpt-4o#0 -> openai/gpt-4o-eu mode=chat api_base=http://127.0.0.1:9/v1 rpm=6 api_key=****cdef" in out
    assert "*#3 -> openai/* mode=chat (wildcard pass-through)" in out
    assert "sk-eu-secret" not in out and "sk-1234" not in out  # keys and the master key are masked
    assert "admin token: ****" in out
    assert result.stderr == ""


def test_database_and_redis_passwords_are_masked(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "general_settings: {database_url: 'postgresql://app:hunter2@db.internal/aq'}\n"
        "router_settings: {redis_host: cache.internal, redis_password: s3cret}\n"
        "model_list: [{model_name: m, litellm_params: {model: mock/m}}]\n"
    )
    result = check(path)
    assert result.returncode == 0, result.stdout
    assert "postgresql://app:****@db.internal/aq" in result.stdout
    assert "redis://:****@cache.internal:6379/0" in result.stdout
    assert "hunter2" not in result.stdout and "s3cret" not in result.stdout


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = check(tmp_path / "nope.yaml")
    assert result.returncode == 1
    assert "cannot read config file" in result.stdout and "Traceback" not in result.stderr


PROVIDER_PROBLEMS = """
environment_variables:
  AZURE_API_KEY: sk-from-the-file-0123456789
model_list:
  - model_name: no-endpoint
    litellm_params: {model: azure/my-deployment}
  - model_name: endpoint-from-file-env
    litellm_params: {model: azure/other}
  - model_name: fine
    litellm_params: {model: openai/m, api_base: 'http://127.0.0.1:9/v1'}
"""


def test_provider_problems_are_reported_as_serve_would_refuse_them(tmp_path: Path) -> None:
    """A provider's own configuration error (here: azure/ without an endpoint) is found by `config check` too,
    not only when `aqueduct serve` starts; the file's environment_variables count as they would there."""
    path = tmp_path / "config.yaml"
    path.write_text(PROVIDER_PROBLEMS)
    result = check(path)
    assert result.returncode == 1, result.stdout
    assert "2 problem(s)" in result.stdout
    assert "model_list (no-endpoint#0)" in result.stdout and "AZURE_API_BASE" in result.stdout
    assert "model_list (endpoint-from-file-env#1)" in result.stdout
    assert "fine#2" not in result.stdout.split("models (")[0]  # listed as a model, not as a problem
    with_endpoint = check(path, AZURE_API_BASE="https://127.0.0.1:9")
    assert with_endpoint.returncode == 0, with_endpoint.stdout
    assert "sk-from-the-file" not in with_endpoint.stdout
