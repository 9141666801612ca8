"""Rendering of list results: an aligned table for people, a JSON array for scripts.

Rows are plain dicts whose keys are the snake_case JSON keys; the table shows the same keys as upper-case
headers so what a person sees and what a script parses never drift apart.

Everything shown comes from the server, and much of it from tenants (a request's `user_id`, user agent, model
name, upstream error text, names): a terminal must never receive their control characters, or an ESC sequence
clears the screen, retitles the window or forges a table row. Text output escapes them (`printable`), JSON
output keeps exact JSON with them as `\\u` escapes (`terminal_json`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TextIO

from google.protobuf.timestamp_pb2 import Timestamp

# JSON-compatible scalar values a row may hold.
Cell = str | int | float | bool | None
Row = Mapping[str, Cell]

# What the table shows for a missing value (null in JSON).
EMPTY_CELL = "-"
# Spaces between table columns.
COLUMN_GAP = 2


# C0 and C1 controls, DEL, and the Unicode characters that move or reorder text (line/paragraph separators,
# bidirectional overrides and isolates, which make a shown value read differently from what it is).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# The same without C0: json.dumps escapes those inside strings, and its indentation newlines are structure.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# Python's own escapes where it has short ones; \\xNN or \\uNNNN otherwise.
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with its control characters escaped, safe to write to a terminal on one line."""
    return _UNSAFE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def terminal_json(value: object, *, indent: int | None = 2) -> str:
    """JSON text for a terminal: json.dumps escapes C0 controls already; DEL, C1 and the reordering characters
    become \\u escapes too. Outside strings JSON text is ASCII, so the result parses to the same value."""
    return _UNSAFE_IN_JSON.sub(_json_escape, json.dumps(value, indent=indent, ensure_ascii=False))


def timestamp_to_iso(timestamp: Timestamp) -> str:
    """ISO 8601 in UTC with a `Z` suffix; sub-second digits only when the timestamp has them."""
    moment = timestamp.ToDatetime(tzinfo=UTC)
    timespec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def iso_from_datetime(moment: datetime) -> str:
    timespec = "microseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def render_json(rows: Sequence[Row]) -> str:
    return terminal_json([dict(row) for row in rows])


def _cell_text(value: Cell) -> str:
    if value is None or value == "":
        return EMPTY_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    return printable(str(value))


def render_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """An aligned table: one header line (column keys upper-cased), then one line per row."""
    header = [column.upper() for column in columns]
    body = [[_cell_text(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(columns))]
    gap = " " * COLUMN_GAP
    lines = [gap.join(text.ljust(width) for text, width in zip(line, widths, strict=True)) for line in [header, *body]]
    return "\n".join(line.rstrip() for line in lines)


def print_rows(rows: Sequence[Row], columns: Sequence[str], *, as_json: bool, out: TextIO) -> None:
    """Print rows as JSON (every key) or as a table (the given columns)."""
    text = render_json(rows) if as_json else render_table(rows, columns)
    print(text, file=out)


def print_one(row: Row, columns: Sequence[str], *, as_json: bool, out: TextIO) -> None:
    """Print one resource (a `get` verb): a JSON object, or a one-row table."""
    text = terminal_json(dict(row)) if as_json else render_table([row], columns)
    print(text, file=out)
