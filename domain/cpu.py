"""CPU-heavy work off the event loop, a few at a time, so that other requests keep moving."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Workers that leave Python's lock while they work (argon2) can yield the CPU to the event
# loop's thread when both want it: the loop answers many small requests, the workers a few
# heavy ones that can wait a little. Workers that hold the lock must not: the loop would
# wait for the lock behind a worker the system does not run.
WORKER_NICENESS = 10


def _lower_priority() -> None:
    # On Linux a thread has its own priority; elsewhere this changes nothing.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)


class CpuLimit:
    """Runs work in its own worker threads, at most ``concurrency`` at once; the rest queue."""

    def __init__(self, concurrency: int = 2, name: str = "cpu", *,
                 releases_the_gil: bool = False) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self._workers = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix=name,
            initializer=_lower_priority if releases_the_gil else None)

    async def run(self, work: Callable[[], T]) -> T:
        context = contextvars.copy_context()  # as asyncio.to_thread does
        return await asyncio.get_running_loop().run_in_executor(
            self._workers, context.run, work)
