"""Argument parsing of the admin verbs and connection resolution; no sockets."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aqueduct_client.cli._connection import DEFAULT_CORE_ADDRESS, DEFAULT_TIMEOUT_SECONDS, resolve_connection
from aqueduct_client.cli._errors import EXIT_USAGE, CliError
from aqueduct_client.cli.main import build_parser, main
from aqueduct_client.cli.tokens import parse_expiry


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["org", "create", "acme"], {"name": "acme"}),
        (["org", "list", "--json"], {"json": True}),
        (["user", "create", "a@x.io", "--org", "acme"], {"email": "a@x.io", "org": "acme", "role": "user"}),
        (["user", "create", "a@x.io", "--org", "acme", "--role", "org-admin"], {"role": "org-admin"}),
        (["user", "list"], {"org": "", "json": False}),
        (["team", "add-member", "ml", "--org", "acme", "--user", "a@x.io", "--admin"], {"admin": True}),
        (["team", "remove-member", "ml", "--org", "acme", "--user", "a@x.io"], {"user": "a@x.io"}),
        (["team", "members", "ml", "--org", "acme", "--json"], {"name": "ml", "json": True}),
        (["token", "create", "--user", "a@x.io", "--name", "ci"], {"user": "a@x.io", "expires_at": None}),
        (["token", "regenerate", "tok_1"], {"id": "tok_1"}),
        (
            ["service-account", "create", "bot", "--team", "ml", "--org", "acme", "--owner", "a@x.io"],
            {"owner": "a@x.io"},
        ),
        (["sa", "list", "--team", "ml", "--org", "acme"], {"team": "ml", "org": "acme"}),
    ],
)
def test_verbs_parse(argv: list[str], expected: dict[str, object]) -> None:
    args = parse(*argv)
    for key, value in expected.items():
        assert getattr(args, key) == value
    assert callable(args.func)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["org"],
        ["org", "create"],
        ["user", "create", "a@x.io"],
        ["user", "create", "a@x.io", "--org", "acme", "--role", "root"],
        ["team", "create", "ml"],
        ["token", "create", "--user", "a@x.io"],
        ["token", "create", "--name", "ci", "--expires-at", "next tuesday"],
        ["service-account", "create", "bot", "--team", "ml", "--org", "acme"],
        ["org", "list", "--timeout", "0"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_connection_flags_work_before_and_after_the_verb() -> None:
    before = parse("--core", "10.0.0.1:1", "--token", "t1", "org", "list")
    after = parse("org", "list", "--core", "127.0.0.2:2", "--token", "t2", "--timeout", "5")
    assert (before.core, before.token) == ("10.0.0.1:1", "t1")
    assert (after.core, after.token, after.timeout) == ("127.0.0.2:2", "t2", 5.0)


def test_resolve_connection_precedence() -> None:
    env = {"AQUEDUCT_CORE": "127.0.0.9:9", "AQUEDUCT_ADMIN_TOKEN": "admin", "AQUEDUCT_TOKEN": "mine"}
    assert resolve_connection(parse("org", "list"), env).token == "admin"
    assert resolve_connection(parse("org", "list"), env).address == "127.0.0.9:9"
    assert resolve_connection(parse("org", "list"), {"AQUEDUCT_TOKEN": "mine"}).token == "mine"
    flagged = resolve_connection(parse("org", "list", "--token", "flag", "--core", "127.0.0.1:7"), env)
    assert (flagged.token, flagged.address) == ("flag", "127.0.0.1:7")
    defaults = resolve_connection(parse("org", "list"), {"AQUEDUCT_TOKEN": "mine"})
    assert (defaults.address, defaults.timeout) == (DEFAULT_CORE_ADDRESS, DEFAULT_TIMEOUT_SECONDS)


def test_missing_credential_is_a_usage_error() -> None:
    with pytest.raises(CliError) as raised:
        resolve_connection(parse("org", "list"), {})
    assert raised.value.exit_code == EXIT_USAGE
    assert "AQUEDUCT_ADMIN_TOKEN" in raised.value.message


def test_main_without_credential_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AQUEDUCT_ADMIN_TOKEN", "AQUEDUCT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["org", "list"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: no credential")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-31T00:00:00Z", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T02:00:00+02:00", datetime(2027, 1, 31, 2, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_parse_expiry(text: str, expected: datetime) -> None:
    assert parse_expiry(text) == expected
    assert parse_expiry(text).tzinfo is not None
