"""End to end: the installed `aqueduct` CLI as a subprocess against a real core (CoreServer, SQLite in
tmp_path, loopback port chosen by the OS). Walks the whole admin surface the way an operator would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.server import CoreServer
from core.settings import Settings
from tests.integration.cli.cli_harness import CliResult, cli_env, run_cli

ADMIN_TOKEN = "sk-admin-cli-e2e-" + "a" * 32


@pytest.fixture
async def core_address(tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'aqueduct.db'}",
        data_dir=str(tmp_path),
        grpc_host="127.0.0.1",
        grpc_port=0,
        usage_flush_interval_seconds=0.1,
    )
    core = CoreServer(settings, admin_token=ADMIN_TOKEN)
    port = await core.start("127.0.0.1:0")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await core.stop(grace=1)


def ok(result: CliResult) -> CliResult:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def secret_of(result: CliResult) -> str:
    """A secret command's stdout must be exactly one line: the secret."""
    ok(result)
    assert result.stdout.endswith("\n")
    secret = result.stdout[:-1]
    assert "\n" not in secret
    assert secret.startswith("sk-"), result.stdout
    return secret


@pytest.mark.slow
async def test_operator_walkthrough(core_address: str) -> None:
    admin = cli_env(core_address, ADMIN_TOKEN)

    ok(await run_cli("org", "create", "acme", env=admin))
    ok(await run_cli("user", "create", "alice@acme.io", "--org", "acme", "--role", "org-admin", env=admin))
    ok(await run_cli("user", "create", "bob@acme.io", "--org", "acme", env=admin))
    users = json.loads(ok(await run_cli("user", "list", "--org", "acme", "--json", env=admin)).stdout)
    assert {(u["email"], u["role"]) for u in users} == {("alice@acme.io", "org-admin"), ("bob@acme.io", "user")}
    assert all(u["create_time"].endswith("Z") for u in users)

    ok(await run_cli("team", "create", "ml", "--org", "acme", env=admin))
    ok(await run_cli("team", "add-member", "ml", "--org", "acme", "--user", "bob@acme.io", "--admin", env=admin))
    members = json.loads(ok(await run_cli("team", "members", "ml", "--org", "acme", "--json", env=admin)).stdout)
    assert members == [{"team": "ml", "org": "acme", "email": "bob@acme.io", "team_admin": True}]
    teams = json.loads(ok(await run_cli("team", "list", "--json", env=admin)).stdout)
    assert [(t["name"], t["org"]) for t in teams] == [("ml", "acme")]

    # Personal token: the secret alone on stdout, never again in listings.
    bob_secret = secret_of(
        await run_cli(
            "token",
            "create",
            "--user",
            "bob@acme.io",
            "--name",
            "ci",
            "--expires-at",
            "2099-01-01T00:00:00Z",
            env=admin,
        )
    )
    listed = ok(await run_cli("token", "list", "--user", "bob@acme.io", "--json", env=admin))
    assert bob_secret not in listed.stdout
    [token] = json.loads(listed.stdout)
    assert (token["name"], token["user_email"], token["expire_time"]) == ("ci", "bob@acme.io", "2099-01-01T00:00:00Z")
    assert token["preview"]
    table = ok(await run_cli("token", "list", env=admin)).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "NAME", "PREVIEW"]

    # A plain user may not administer the gateway, but may list their own tokens.
    bob = cli_env(core_address, None) | {"AQUEDUCT_TOKEN": bob_secret}
    denied = await run_cli("org", "create", "evil", env=bob)
    assert denied.returncode == 1
    assert denied.stdout == ""
    assert denied.stderr.startswith("error: permission denied"), denied.stderr
    assert "Traceback" not in denied.stderr
    own = json.loads(ok(await run_cli("token", "list", "--json", env=bob)).stdout)
    assert [t["id"] for t in own] == [token["id"]]

    new_secret = secret_of(await run_cli("token", "regenerate", token["id"], env=admin))
    assert new_secret != bob_secret

    # Service account of bob's team: its token's secret alone on stdout.
    bot_secret = secret_of(
        await run_cli(
            "service-account", "create", "bot", "--team", "ml", "--org", "acme", "--owner", "bob@acme.io", env=admin
        )
    )
    assert bot_secret not in (bob_secret, new_secret)
    accounts = json.loads(ok(await run_cli("service-account", "list", "--org", "acme", "--json", env=admin)).stdout)
    assert [(a["name"], a["team"], a["owner_email"]) for a in accounts] == [("bot", "ml", "bob@acme.io")]

    # Duplicates and unknown names say so plainly and exit 1.
    duplicate = await run_cli("org", "create", "acme", env=admin)
    assert duplicate.returncode == 1
    assert duplicate.stderr.startswith("error: already exists"), duplicate.stderr
    missing = await run_cli("user", "delete", "nobody@acme.io", env=admin)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: not found"), missing.stderr

    # Tear everything down again.
    ok(await run_cli("token", "delete", token["id"], env=admin))
    remaining = json.loads(ok(await run_cli("token", "list", "--user", "bob@acme.io", "--json", env=admin)).stdout)
    # Only the service account's token (owned by bob) is left.
    assert [(t["name"], t["service_account"]) for t in remaining] == [("bot", "bot")]
    ok(await run_cli("service-account", "delete", "bot", "--team", "ml", "--org", "acme", env=admin))
    ok(await run_cli("team", "remove-member", "ml", "--org", "acme", "--user", "bob@acme.io", env=admin))
    ok(await run_cli("team", "delete", "ml", "--org", "acme", env=admin))
    for email in ("alice@acme.io", "bob@acme.io"):
        ok(await run_cli("user", "delete", email, env=admin))
    ok(await run_cli("org", "delete", "acme", env=admin))
    assert json.loads(ok(await run_cli("org", "list", "--json", env=admin)).stdout) == []


async def test_bad_admin_token_is_rejected_plainly(core_address: str) -> None:
    result = await run_cli("org", "list", env=cli_env(core_address, "sk-not-a-real-token"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: not authenticated"), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
async def test_messages_and_the_get_and_update_verbs(core_address: str) -> None:
    admin = cli_env(core_address, ADMIN_TOKEN)
    created = ok(await run_cli("org", "create", "acme", env=admin)).stdout
    assert created.startswith("created org acme (id ") and created.endswith(")\n")
    user = ok(await run_cli("user", "create", "bob@acme.io", "--org", "acme", env=admin)).stdout
    assert user.startswith("created user bob@acme.io in org acme with role user (id ")
    assert ok(await run_cli("team", "create", "ml", "--org", "acme", env=admin)).stdout.startswith(
        "created team ml in org acme (id "
    )
    added = ok(await run_cli("team", "add-member", "ml", "--org", "acme", "--user", "bob@acme.io", env=admin))
    assert added.stdout == "bob@acme.io is a member of team ml in org acme\n"
    again = ok(
        await run_cli("team", "add-member", "ml", "--org", "acme", "--user", "bob@acme.io", "--admin", env=admin)
    )
    assert again.stdout == "bob@acme.io is a team admin of team ml in org acme\n"

    org = json.loads(ok(await run_cli("org", "get", "acme", "--json", env=admin)).stdout)
    assert set(org) == {"id", "name", "create_time"} and org["name"] == "acme"
    promoted = ok(await run_cli("user", "update", "bob@acme.io", "--role", "org-admin", env=admin))
    assert promoted.stdout == "user bob@acme.io now has role org-admin\n"
    got = json.loads(ok(await run_cli("user", "get", "bob@acme.io", "--json", env=admin)).stdout)
    assert (got["email"], got["org"], got["role"]) == ("bob@acme.io", "acme", "org-admin")
    team = ok(await run_cli("team", "get", "ml", "--org", "acme", env=admin)).stdout.splitlines()
    assert team[0].split() == ["NAME", "ORG", "ID", "CREATE_TIME"] and team[1].split()[:2] == ["ml", "acme"]

    secret_of(await run_cli("token", "create", "--user", "bob@acme.io", "--name", "ci", env=admin))
    [token] = json.loads(ok(await run_cli("token", "list", "--user", "bob@acme.io", "--json", env=admin)).stdout)
    updated = ok(
        await run_cli("token", "update", token["id"], "--name", "laptop", "--expires-at", "2099-01-01", env=admin)
    )
    assert updated.stdout == f"updated token {token['id']} (laptop), expires 2099-01-01T00:00:00Z\n"
    shown = json.loads(ok(await run_cli("token", "get", token["id"], "--json", env=admin)).stdout)
    assert (shown["name"], shown["expire_time"]) == ("laptop", "2099-01-01T00:00:00Z")

    secret_of(
        await run_cli("sa", "create", "bot", "--team", "ml", "--org", "acme", "--owner", "bob@acme.io", env=admin)
    )
    ok(await run_cli("user", "create", "carol@acme.io", "--org", "acme", env=admin))
    handed = ok(
        await run_cli("sa", "update", "bot", "--team", "ml", "--org", "acme", "--owner", "carol@acme.io", env=admin)
    )
    assert handed.stdout == "service account bot of team ml in org acme is owned by carol@acme.io\n"
    account = json.loads(
        ok(await run_cli("sa", "get", "bot", "--team", "ml", "--org", "acme", "--json", env=admin)).stdout
    )
    assert (account["owner_email"], account["team"], account["org"]) == ("carol@acme.io", "ml", "acme")

    missing = await run_cli("org", "get", "nope", env=admin)
    assert (missing.returncode, missing.stderr) == (1, "error: not found: orgs/nope not found\n")
