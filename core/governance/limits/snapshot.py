"""An in-memory copy of a small table, re-read in the background every `ttl` seconds, so the request path
reads memory only. A failed reload keeps the last good copy (and is logged); a replica that changed the data
itself reloads at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger("aqueduct.core.governance")

T = TypeVar("T")


class RefreshingSnapshot(Generic[T]):
    def __init__(self, name: str, load: Callable[[], Awaitable[T]], initial: T, *, ttl: float) -> None:
        self.name = name
        self.value = initial
        self._load = load
        self._ttl = ttl
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.loads = 0

    async def start(self) -> None:
        """Loads once (errors propagate: a replica must not serve without its limits), then keeps reloading."""
        self.value = await self._load()
        self.loads += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"refresh-{self.name}")

    async def refresh(self) -> None:
        async with self._lock:
            try:
                self.value = await self._load()
                self.loads += 1
            except Exception:
                log.exception("reloading %s failed; keeping the previous copy", self.name)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._ttl)
            await self.refresh()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
