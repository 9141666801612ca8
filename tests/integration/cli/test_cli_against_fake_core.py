"""The installed CLI over a real socket against fake tenancy services: metadata, paging, exit codes, and what
reaches stdout versus stderr."""

from __future__ import annotations

import json
import socket

from tests.integration.cli.cli_harness import ADMIN_TOKEN, FAKE_PAGE_SIZE, USER_TOKEN, FakeCore, cli_env, run_cli


async def test_bearer_token_is_sent_and_lists_follow_pages(fake_core: FakeCore) -> None:
    env = cli_env(fake_core.address, ADMIN_TOKEN)
    names = [f"org-{i}" for i in range(FAKE_PAGE_SIZE * 2 + 1)]
    for name in names:
        created = await run_cli("org", "create", name, env=env)
        assert created.returncode == 0, created.stderr
    listed = await run_cli("org", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    orgs = json.loads(listed.stdout)
    assert [o["name"] for o in orgs] == sorted(names)
    assert set(orgs[0]) == {"id", "name", "create_time"}
    assert orgs[0]["create_time"].endswith("Z")
    assert fake_core.service.seen_metadata[-1]["authorization"] == f"Bearer {ADMIN_TOKEN}"

    table = await run_cli("org", "list", env=env)
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ID", "CREATE_TIME"]
    assert len(lines) == 1 + len(names)


async def test_token_create_prints_the_secret_alone(fake_core: FakeCore) -> None:
    env = cli_env(fake_core.address, ADMIN_TOKEN)
    result = await run_cli(
        "token", "create", "--user", "a@x.io", "--name", "ci", "--expires-at", "2030-01-01T00:00:00Z", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sk-")
    assert result.stdout.strip().splitlines() == [result.stdout.strip()]
    listed = json.loads((await run_cli("token", "list", "--user", "a@x.io", "--json", env=env)).stdout)
    assert listed[0]["expire_time"] == "2030-01-01T00:00:00Z"
    assert listed[0]["name"] == "ci"


async def test_user_token_via_aqueduct_token_env(fake_core: FakeCore) -> None:
    env = cli_env(fake_core.address, None) | {"AQUEDUCT_TOKEN": USER_TOKEN}
    mine = await run_cli("token", "create", "--name", "laptop", env=env)
    assert mine.returncode == 0, mine.stderr
    assert fake_core.service.seen_metadata[-1]["authorization"] == f"Bearer {USER_TOKEN}"


async def test_server_errors_exit_1_with_a_plain_message(fake_core: FakeCore) -> None:
    admin = cli_env(fake_core.address, ADMIN_TOKEN)
    user = cli_env(fake_core.address, USER_TOKEN)
    denied = await run_cli("org", "create", "acme", env=user)
    assert (denied.returncode, denied.stdout) == (1, "")
    assert denied.stderr == "error: permission denied: only an admin may do this\n"

    assert (await run_cli("org", "create", "acme", env=admin)).returncode == 0
    duplicate = await run_cli("org", "create", "acme", env=admin)
    assert duplicate.returncode == 1
    assert duplicate.stderr.startswith("error: already exists")

    missing = await run_cli("org", "delete", "nope", env=admin)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: not found")

    bad = await run_cli("org", "list", env=cli_env(fake_core.address, "sk-wrong"))
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: not authenticated: invalid token")

    for result in (denied, duplicate, missing, bad):
        assert "Traceback" not in result.stderr


async def test_usage_errors_exit_2(fake_core: FakeCore) -> None:
    env = cli_env(fake_core.address, ADMIN_TOKEN)
    result = await run_cli("user", "create", "a@x.io", env=env)
    assert result.returncode == 2
    assert "--org" in result.stderr
    no_token = await run_cli("org", "list", env=cli_env(fake_core.address, None))
    assert no_token.returncode == 2
    assert no_token.stderr.startswith("error: no credential")


async def test_unreachable_core_names_the_address() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    # The port is free again (nothing listens), so the connection is refused.
    result = await run_cli("org", "list", "--timeout", "5", env=cli_env(address, ADMIN_TOKEN))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot reach Aqueduct core at {address}")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
