"""`aqueduct serve` as a subprocess: a provider the config cannot reach (an azure/ model without an endpoint or
credentials, an anthropic/ model without a key) stops startup with exit status 2 and a message naming the
model and the missing setting, never a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.gateway import AQUEDUCT

PROVIDER_ENV = ("AZURE_API_BASE", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_AD_TOKEN", "ANTHROPIC_API_KEY")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": "azure/dep", "api_key": "k"}, "model 'm': azure/ needs litellm_params.api_base"),
        ({"model": "azure/dep", "api_base": "https://r.openai.azure.com"}, "azure/ needs litellm_params.api_key"),
        ({"model": "anthropic/claude-x"}, "model 'm': anthropic/ needs litellm_params.api_key or ANTHROPIC_API_KEY"),
    ],
)
def test_a_provider_missing_its_endpoint_or_key_exits_2(tmp_path: Path, params: dict[str, str], message: str) -> None:
    config = {
        "database_url": f"sqlite:///{tmp_path / 'a.db'}",
        "model_list": [{"model_name": "m", "litellm_params": params}],
    }
    path = tmp_path / "aqueduct.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    command = [AQUEDUCT, "serve", "--config", str(path), "--port", "0", "--grpc-port", "0"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
