"""The client distribution (clients/python) installs into an empty virtualenv and works without the server:
stubs, typed client and admin CLI import with grpcio/protobuf only, and `aqueduct` has no server commands until
the server distribution adds them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# Packages of the server that must never arrive with the client.
SERVER_ONLY = ("core", "http_facade", "aqueduct_server", "aqueduct_openai", "sqlalchemy", "fastapi", "uvicorn")

PROBE = """
import importlib.util, sys
import aqueduct_client, aqueduct_client.client, aqueduct_client.cli.main
from aqueduct.v1 import chat_service_pb2_grpc, model_service_pb2
leaked = [name for name in sys.argv[1:] if importlib.util.find_spec(name) is not None]
print("leaked:" + ",".join(leaked))
"""


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("client-venv")
    # A copy: setuptools builds in the source tree, which must stay clean.
    source = shutil.copytree(
        REPO / "clients" / "python", root / "src", ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    venv.EnvBuilder(with_pip=True, clear=True).create(root / "venv")
    root = root / "venv"
    python = root / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    return root


@pytest.mark.slow
def test_client_imports_without_the_server(client_venv: Path) -> None:
    probe = subprocess.run(
        [str(client_venv / "bin" / "python"), "-c", PROBE, *SERVER_ONLY],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=client_venv,  # not the repository, whose packages would be importable from the working directory
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "leaked:"


@pytest.mark.slow
def test_cli_runs_and_lists_only_admin_commands(client_venv: Path) -> None:
    shown = subprocess.run(
        [str(client_venv / "bin" / "aqueduct"), "--help"], capture_output=True, text=True, timeout=60, cwd=client_venv
    )
    assert shown.returncode == 0, shown.stderr
    commands = _commands(shown.stdout)
    assert {"org", "user", "token", "usage"} <= commands
    assert not commands & {"serve", "core", "facade"}


def test_server_distribution_adds_the_server_commands() -> None:
    """In the development install (server + client) the one `aqueduct` command has both."""
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "aqueduct"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert {"serve", "core", "facade", "org", "token"} <= _commands(shown.stdout)


def _commands(help_text: str) -> set[str]:
    """The sub-command names argparse lists under "commands:" (4-space indented, one per line)."""
    return set(re.findall(r"^    ([a-z][a-z-]*)", help_text.split("commands:")[1], flags=re.MULTILINE))
