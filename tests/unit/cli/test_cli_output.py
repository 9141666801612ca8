"""Table and JSON rendering, and proto -> row conversion; no sockets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aqueduct.v1 import service_account_pb2, token_pb2, user_pb2
from aqueduct_client.cli._output import Row, printable, render_json, render_table, terminal_json, timestamp_to_iso
from aqueduct_client.cli._resources import (
    SERVICE_ACCOUNT_COLUMNS,
    TOKEN_COLUMNS,
    service_account_row,
    token_row,
    user_row,
)
from google.protobuf.timestamp_pb2 import Timestamp


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def test_table_is_aligned_with_upper_case_headers() -> None:
    rows: list[Row] = [
        {"name": "acme", "id": "org_1", "admin": True},
        {"name": "a-much-longer-name", "id": None, "admin": False},
    ]
    lines = render_table(rows, ["name", "id", "admin"]).splitlines()
    assert lines[0].split() == ["NAME", "ID", "ADMIN"]
    assert lines[1].split() == ["acme", "org_1", "yes"]
    assert lines[2].split() == ["a-much-longer-name", "-", "no"]
    # Every column starts at the same offset on every line.
    id_offset = lines[0].index("ID")
    assert lines[1][id_offset:].startswith("org_1")
    assert lines[2][id_offset:].startswith("-")
    assert all(line == line.rstrip() for line in lines)


def test_empty_table_is_just_the_header() -> None:
    assert render_table([], ["name", "id"]) == "NAME  ID"


def test_json_is_an_array_of_objects() -> None:
    assert json.loads(render_json([{"a": 1, "b": None}])) == [{"a": 1, "b": None}]
    assert json.loads(render_json([])) == []


def test_timestamps_are_iso_utc_with_z() -> None:
    assert timestamp_to_iso(ts(datetime(2026, 11, 26, 6, 20, tzinfo=UTC))) == "2026-11-26T06:20:00Z"
    assert timestamp_to_iso(ts(datetime(2026, 11, 26, 6, 20, 0, 500, tzinfo=UTC))) == "2026-11-26T06:20:00.000500Z"


def test_token_row_has_snake_case_keys_and_null_for_never_expiring() -> None:
    token = token_pb2.Token(
        name="tokens/0a1",
        display_name="ci",
        preview="sk-abc...xyz",
        user="users/a@x.io",
        create_time=ts(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    )
    row = token_row(token)
    assert set(row) == set(TOKEN_COLUMNS)
    assert (row["id"], row["name"], row["user_email"]) == ("0a1", "ci", "a@x.io")
    assert row["expire_time"] is None
    assert row["service_account"] is None
    assert row["create_time"] == "2026-01-02T03:04:05Z"
    token.expire_time.CopyFrom(ts(datetime(2027, 1, 1, tzinfo=UTC)))
    assert token_row(token)["expire_time"] == "2027-01-01T00:00:00Z"
    token.service_account = "orgs/acme/teams/ml/serviceAccounts/bot"
    assert token_row(token)["service_account"] == "bot"


def test_resource_names_become_the_historical_short_keys() -> None:
    account = service_account_pb2.ServiceAccount(
        name="orgs/acme/teams/ml/serviceAccounts/bot", uid="s1", owner="users/a@x.io", token="tokens/0a1"
    )
    row = service_account_row(account)
    assert set(row) == set(SERVICE_ACCOUNT_COLUMNS)
    assert {k: v for k, v in row.items() if k != "create_time"} == {
        "id": "s1",
        "name": "bot",
        "team": "ml",
        "org": "acme",
        "owner_email": "a@x.io",
        "token_id": "0a1",
    }


def test_user_row_spells_roles_like_the_flag() -> None:
    admin = user_row(user_pb2.User(name="users/a@x.io", org="orgs/acme", role=user_pb2.ROLE_ADMIN))
    assert (admin["email"], admin["org"], admin["role"]) == ("a@x.io", "acme", "admin")
    assert user_row(user_pb2.User(name="users/a@x.io", role=user_pb2.ROLE_ORG_ADMIN))["role"] == "org-admin"


HOSTILE = "a\x1b[2J\x1b]0;t\x07\nrow\r\x9b\x7f\u202eé\t"


def test_table_cells_escape_control_characters() -> None:
    table = render_table([{"label": HOSTILE}], ["label"])
    assert table.splitlines()[1] == "a\\x1b[2J\\x1b]0;t\\x07\\nrow\\r\\x9b\\x7f\\u202eé\\t"
    assert printable("plain é text") == "plain é text"


def test_json_for_a_terminal_stays_exact_json() -> None:
    text = terminal_json({"k": HOSTILE})
    assert json.loads(text) == {"k": HOSTILE} and json.loads(render_json([{"k": HOSTILE}])) == [{"k": HOSTILE}]
    assert not any(c in text for c in "\x1b\x07\r\x9b\x7f\u202e") and "é" in text
