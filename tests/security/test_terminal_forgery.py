"""#11 (terminals): text that tenants control (a `user_id`, user agent, model name, upstream error text) and
the CLI prints must not reach a terminal as control characters. Before, `usage --group-by user_id` passed an
ESC sequence through: the screen was cleared, the window retitled and a table row forged. New `user_id`s are
validated at the edge, but rows stored before are not, so these rows are written into the database directly."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from concurrent import futures
from datetime import UTC, datetime, timedelta

import grpc

from tests.security.conftest import record_events
from tests.support.gateway import AQUEDUCT, Gateway
from tests.support.usage_events import event

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=5)
WINDOW = ("--since", HOUR.isoformat(), "--until", (HOUR + timedelta(hours=1)).isoformat())
CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;pwned\x07"
FORGED = "\nroot@admin  999999  0  0  0"
HOSTILE_USER_ID = f"{CLEAR}{TITLE}mallory{FORGED}"
HOSTILE_MODEL = "gpt\x1b[31m-red\u202e"
HOSTILE_AGENT = "agent\r\x9b2J"
HOSTILE_ERROR = "upstream said \x1b[2Jhi\nerror: FORGED"
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


def assert_clean(text: str) -> None:
    assert not any(c in text for c in CONTROLS), repr(text[:400])


def test_hostile_stored_text_is_escaped_in_tables_and_exact_in_json(gateway: Gateway) -> None:
    record_events(
        gateway,
        [
            event(
                1,
                created_at=HOUR,
                end_user_id=HOSTILE_USER_ID,
                model=HOSTILE_MODEL,
                user_agent=HOSTILE_AGENT,
                status=502,
                error_message=HOSTILE_ERROR,
            ),
            event(2, created_at=HOUR, end_user_id="honest"),
        ],
    )
    for group_by in ("user_id", "model"):
        table = gateway.cli("usage", *WINDOW, "--group-by", group_by).stdout
        assert_clean(table)
        lines = table.splitlines()
        by = lines[lines.index(f"by {group_by}:") :]
        assert len(by) == 4, table  # the heading, the header and two rows: no forged row
    table = gateway.cli("usage", *WINDOW, "--group-by", "user_id").stdout
    assert "\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07mallory\\nroot@admin" in table

    data = json.loads(gateway.cli("usage", *WINDOW, "--group-by", "user_id", "--json").stdout)
    assert {g["key"] for g in data["groups"]} == {HOSTILE_USER_ID, "honest"}

    jsonl = gateway.cli("usage", "export", *WINDOW, "--format", "jsonl").stdout
    assert_clean(jsonl)
    records = [json.loads(line) for line in jsonl.splitlines()]
    hostile = next(r for r in records if r["end_user_id"] == HOSTILE_USER_ID)
    assert (hostile["model"], hostile["user_agent"], hostile["error_message"]) == (
        HOSTILE_MODEL,
        HOSTILE_AGENT,
        HOSTILE_ERROR,
    )
    # CSV written to a file or pipe is exact data.
    rows = list(csv.DictReader(io.StringIO(gateway.cli("usage", "export", *WINDOW, "--format", "csv").stdout)))
    assert {r["end_user_id"] for r in rows} == {HOSTILE_USER_ID, "honest"}


def test_error_lines_are_escaped(gateway: Gateway) -> None:
    result = gateway.cli("usage", "--user", f"x{CLEAR}{FORGED}@evil.test", check=False)
    assert result.returncode != 0
    assert_clean(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")


class _Hostile(grpc.GenericRpcHandler):
    """A server whose error details carry what an upstream's error text may (every call is refused)."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        def refuse(request: bytes, context: grpc.ServicerContext) -> bytes:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, HOSTILE_ERROR + TITLE)

        return grpc.unary_unary_rpc_method_handler(refuse)


def test_error_details_from_the_server_are_escaped() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[_Hostile()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        env = {**os.environ, "AQUEDUCT_CORE": f"127.0.0.1:{port}", "AQUEDUCT_ADMIN_TOKEN": "sk-x"}
        result = subprocess.run([AQUEDUCT, "usage"], env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.stop(None)
    assert result.returncode == 1
    assert_clean(result.stderr)
    assert result.stderr == "error: failed precondition: upstream said \\x1b[2Jhi\\nerror: FORGED\\x1b]0;pwned\\x07\n"
