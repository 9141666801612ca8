"""Waiting on a condition instead of sleeping for a guessed time: poll until the predicate holds (return its
value) or fail with what was being waited for once `within` seconds pass. The poll interval only bounds how soon
the condition is seen; the test's outcome never depends on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], within: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or predicate}")
        time.sleep(interval)


async def async_wait_until(
    predicate: Callable[[], T | Awaitable[T]], within: float = 10.0, interval: float = 0.01, what: str = ""
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or predicate}")
        await asyncio.sleep(interval)
