"""An event loop on its own thread, so synchronous callers (the engine, the worker) can
drive the asynchronous connectors: one loop per opened source, closed with it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
C = TypeVar("C")


class LoopThread:
    """A running event loop on a daemon thread."""

    def __init__(self, name: str = "source") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


@contextmanager
def running(
    opened: AbstractAsyncContextManager[C], name: str = "source"
) -> Iterator[tuple[LoopThread, C]]:
    """``opened`` entered on a private loop thread, and exited (then the loop closed) after."""
    loop = LoopThread(name)
    try:
        entered = loop.run(opened.__aenter__())
        try:
            yield loop, entered
        finally:
            loop.run(opened.__aexit__(None, None, None))
    finally:
        loop.close()
