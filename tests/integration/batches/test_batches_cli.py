"""The admin CLI as a subprocess: `aqueduct files ...` and `aqueduct batches ...` against a real gateway."""

from __future__ import annotations

import json

from tests.integration.batches.conftest import chat_line, client, jsonl, new_user, upload, wait_ended
from tests.support.gateway import Gateway


def test_files_and_batches_verbs(gateway: Gateway) -> None:
    token = new_user(gateway)
    sdk = client(gateway, token)
    file = upload(sdk, jsonl([chat_line("a"), chat_line("b")]))
    listed = json.loads(gateway.cli("files", "list", "--json", token=token).stdout)
    assert [row["id"] for row in listed] == [file.id]
    shown = json.loads(gateway.cli("files", "show", file.id, "--json", token=token).stdout)
    assert shown["purpose"] == "batch" and shown["bytes"] == file.bytes

    batch = sdk.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
    watched = gateway.cli("batches", "watch", batch.id, "--interval", "0.1", token=token)
    last = watched.stdout.strip().splitlines()[-1]
    assert "2 done, 0 failed / 2" in last and last.endswith("completed")
    rows = json.loads(gateway.cli("batches", "list", "--json", token=token).stdout)
    assert rows[0]["id"] == batch.id and rows[0]["status"] == "completed"
    detail = json.loads(gateway.cli("batches", "show", batch.id, "--json", token=token).stdout)
    assert detail["output_file"] == wait_ended(sdk, batch.id).output_file_id

    # Admins list everyone's; others may not.
    everyone = json.loads(gateway.cli("batches", "list", "--all", "--json").stdout)
    assert batch.id in [row["id"] for row in everyone]
    refused = gateway.cli("batches", "list", "--all", token=token, check=False)
    assert refused.returncode != 0 and "admin" in refused.stderr
    assert file.id in [row["id"] for row in json.loads(gateway.cli("files", "list", "--all", "--json").stdout)]

    assert gateway.cli("files", "delete", file.id, token=token).stdout.strip() == f"deleted {file.id}"
    missing = gateway.cli("files", "show", file.id, token=token, check=False)
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_cancel_verb(gateway: Gateway) -> None:
    token = new_user(gateway)
    sdk = client(gateway, token)
    # Long enough (4 waves of 64 lines at 1.5 s) that the cancel always lands while lines still run, however
    # slowly the CLI starts on a loaded machine.
    lines = [chat_line(f"s{i}", x_fake={"latency_ms": 1500}) for i in range(256)]
    batch = sdk.batches.create(
        input_file_id=upload(sdk, jsonl(lines)).id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    out = gateway.cli("batches", "cancel", batch.id, token=token).stdout.strip()
    assert out == f"{batch.id} cancelling"
    assert wait_ended(sdk, batch.id).status == "cancelled"
    watched = gateway.cli("batches", "watch", batch.id, token=token, check=False)
    assert watched.returncode == 1 and watched.stdout.strip().endswith("cancelled")
