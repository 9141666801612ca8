"""Waiting on a condition instead of sleeping a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_TIMEOUT_S = 10.0
_POLL_S = 0.02


def wait_until(condition: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT_S, what: str = "condition") -> None:
    """Returns as soon as `condition()` is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(_POLL_S)
