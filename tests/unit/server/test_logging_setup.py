"""Logs cannot be forged: text from clients or upstreams never starts a new line or reaches the terminal raw
(security review #12: an upstream error echoing the `user` field forged a CRITICAL line)."""

from __future__ import annotations

import logging
import sys

import orjson

from aqueduct_server.logging_setup import JsonFormatter, TextFormatter

FORGED = "boom\n2026-12-04 10:00:00,000 CRITICAL aqueduct.core.auth: admin token accepted\x1b[2J\u2028done"


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("inner")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("aqueduct.core.routing", logging.WARNING, __file__, 1, message, args, exc_info)


def test_text_lines_escape_newlines_and_terminal_controls() -> None:
    line = TextFormatter("%(levelname)s %(name)s: %(message)s").format(_record("upstream said %s", FORGED))
    assert "\n" not in line and "\x1b" not in line and "\u2028" not in line
    assert line.endswith(
        "upstream said boom\\x0a2026-12-04 10:00:00,000 CRITICAL aqueduct.core.auth: admin token "
        "accepted\\x1b[2J\\u2028done"
    )


def test_a_traceback_keeps_its_own_lines() -> None:
    text = TextFormatter("%(message)s").format(_record("failed: %s", "a\nb", exc=True))
    first, *rest = text.splitlines()
    assert first == "failed: a\\x0ab"
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: inner"


def test_json_lines_are_one_object_each() -> None:
    line = JsonFormatter().format(_record("upstream said %s", FORGED))
    assert "\n" not in line and "\x1b" not in line
    assert orjson.loads(line)["msg"] == "upstream said " + FORGED
