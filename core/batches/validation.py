"""Checks a batch's input file line by line while storing the lines, streaming (one line at a time in memory,
plus the set of custom_ids seen). Every line must be `{"custom_id", "method": "POST", "url": <the batch's
endpoint>, "body": {... "model" ...}}`; problems are collected (up to MAX_ERRORS) with their 1-based line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.batches.model import LineError, LineState
from core.batches.store import INSERT_BATCH, BatchStore
from core.db.tables.batches import CUSTOM_ID_LENGTH

# Problems reported for one input; more are summarised by the count.
MAX_ERRORS = 100


@dataclass(slots=True)
class Validation:
    lines: int = 0
    errors: list[LineError] = field(default_factory=list)

    def add(self, code: str, message: str, param: str = "", line: int = 0) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(LineError(code, message, param, line))


class LineTooLong(Exception):
    pass


async def split_lines(chunks: AsyncIterator[bytes], max_line_bytes: int) -> AsyncIterator[bytes]:
    """The input's lines without their line ends; a final line without one counts too. A line longer than
    `max_line_bytes` (no request body may be) raises LineTooLong instead of growing without bound."""
    rest = b""
    async for chunk in chunks:
        rest += chunk
        *whole, rest = rest.split(b"\n")
        if len(rest) > max_line_bytes:
            raise LineTooLong
        for line in whole:
            yield line
    if rest:
        yield rest


def _check_line(raw: bytes, number: int, endpoint: str, seen: set[str], result: Validation) -> dict[str, Any] | None:
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError:
        result.add("invalid_json_line", f"Line {number} is not valid JSON.", line=number)
        return None
    if not isinstance(item, dict):
        result.add("invalid_json_line", f"Line {number} is not a JSON object.", line=number)
        return None
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        result.add("missing_required_parameter", "custom_id must be a non-empty string.", "custom_id", number)
        return None
    if len(custom_id) > CUSTOM_ID_LENGTH:
        result.add("invalid_custom_id", f"custom_id is longer than {CUSTOM_ID_LENGTH} characters.", "custom_id", number)
        return None
    if custom_id in seen:
        result.add("duplicate_custom_id", f"custom_id {custom_id!r} is used more than once.", "custom_id", number)
        return None
    seen.add(custom_id)
    if item.get("method", "POST") != "POST":
        result.add("invalid_method", "method must be POST.", "method", number)
        return None
    if item.get("url") != endpoint:
        result.add("invalid_url", f"url must be the batch's endpoint, {endpoint}.", "url", number)
        return None
    body = item.get("body")
    if not isinstance(body, dict):
        result.add("invalid_body", "body must be a JSON object.", "body", number)
        return None
    if not isinstance(body.get("model"), str) or not body["model"]:
        result.add("missing_required_parameter", "body.model must be a non-empty string.", "body.model", number)
        return None
    return {"custom_id": custom_id, "body": orjson.dumps(body).decode()}


async def validate_into(
    store: BatchStore,
    batch_id: str,
    endpoint: str,
    chunks: AsyncIterator[bytes],
    *,
    max_lines: int,
    max_line_bytes: int,
) -> Validation:
    """Stores the input's lines as pending (after removing any an interrupted attempt left) and returns what
    was found; with errors, the caller fails the batch and the stored lines are removed."""
    await store.delete_lines(batch_id)
    result = Validation()
    seen: set[str] = set()
    pending: list[dict[str, Any]] = []
    try:
        async for raw in split_lines(chunks, max_line_bytes):
            if not raw.strip():
                continue
            result.lines += 1
            if result.lines > max_lines:
                result.add("too_many_lines", f"The input has more than {max_lines} lines.", line=result.lines)
                break
            checked = _check_line(raw, result.lines, endpoint, seen, result)
            if checked is None or result.errors:
                pending.clear()
                continue
            pending.append({"batch_id": batch_id, "line_no": result.lines, "state": LineState.PENDING.value, **checked})
            if len(pending) >= INSERT_BATCH:
                await store.insert_lines(pending)
                pending = []
    except LineTooLong:
        result.add(
            "line_too_long", f"Line {result.lines + 1} is longer than {max_line_bytes} bytes.", line=result.lines + 1
        )
    if result.lines == 0:
        result.add("empty_file", "The input file has no lines.")
    if result.errors:
        await store.delete_lines(batch_id)
    else:
        await store.insert_lines(pending)
    return result
