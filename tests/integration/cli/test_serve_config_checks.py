"""`aqueduct serve --config` as a subprocess: a typo in a top-level key or an unusable `redis_url` stops it
with exit status 2 and a one-line message (never a traceback); the LiteLLM keys Aqueduct does not use are
logged; a `unix://` redis_url serves with the rate-limit windows in that Redis."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx2
import pytest
import yaml

from tests.support.gateway import AQUEDUCT, Gateway
from tests.support.redis_servers import redis_server

MODELS = [{"model_name": "m", "litellm_params": {"model": "mock/m"}}]


def serve(tmp_path: Path, config: dict[str, object]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "aqueduct.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [AQUEDUCT, "serve", "--config", str(path), "--port", "0", "--grpc-port", "0"]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"redis_ulr": "redis://127.0.0.1:6379/0"}, "config: unknown setting 'redis_ulr'; did you mean 'redis_url'?"),
        ({"redis_url": "redis://127.0.0.1:6379/zero"}, "config: redis_url: the database in a Redis URL"),
        ({"redis_url": "memcached://127.0.0.1"}, "config: redis_url: unsupported Redis URL scheme"),
    ],
)
def test_bad_config_exits_2_with_the_message(tmp_path: Path, config: dict[str, object], message: str) -> None:
    result = serve(tmp_path, {"database_url": f"sqlite:///{tmp_path / 'a.db'}", "model_list": MODELS, **config})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unix_socket_redis_and_ignored_litellm_sections(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis", tcp=False, unix=True) as redis:
        config = {
            "database_url": f"sqlite:///{tmp_path / 'a.db'}",
            "redis_url": f"unix://{redis.unix_socket}?db=1",
            "model_list": MODELS,
            "litellm_settings": {"drop_params": True, "success_callback": ["langfuse"]},
            "general_settings": {"master_key": "sk-1234", "alerting": ["slack"]},
        }
        gateway = Gateway(config, tmp_path).start()
        try:
            health = httpx2.get(gateway.base_url + "/health", timeout=5).json()
            assert health["details"]["rate_limits"] == "redis"
            assert "config: litellm_settings.success_callback is not supported by Aqueduct" in gateway.log
            assert "config: general_settings.alerting is not supported by Aqueduct" in gateway.log
        finally:
            assert gateway.stop() == 0
