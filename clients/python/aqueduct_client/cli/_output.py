"""Rendering of list results: an aligned table for people, a JSON array for scripts.

Rows are plain dicts whose keys are the snake_case JSON keys; the table shows the same keys as upper-case
headers so what a person sees and what a script parses never drift apart."""

from __future__ import annotations

import json
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


def timestamp_to_iso(timestamp: Timestamp) -> str:
    """ISO 8601 in UTC with a `Z` suffix; sub-second digits only when the timestamp has them."""
    moment = timestamp.ToDatetime(tzinfo=UTC)
    timespec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def iso_from_datetime(moment: datetime) -> str:
    timespec = "microseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def render_json(rows: Sequence[Row]) -> str:
    return json.dumps([dict(row) for row in rows], indent=2, ensure_ascii=False)


def _cell_text(value: Cell) -> str:
    if value is None or value == "":
        return EMPTY_CELL
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


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
    text = json.dumps(dict(row), indent=2, ensure_ascii=False) if as_json else render_table([row], columns)
    print(text, file=out)
