"""Held requests wait here for their jobs, without a thread or a database connection each.

One watcher per event loop (per web process) reads the state of every job any of its held
requests waits on in a single query every ``ATELIER_API_POLL_MS``, on a connection it closes
at once, and wakes the requests whose job changed. A thousand held requests cost one small
query per poll, not a thousand, and hold no connection while they wait.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)


class JobState(NamedTuple):
    status: str
    partial_image_key: str
    error_code: str


GONE = JobState("gone", "", "")


def run_briefly(function):
    """``function`` as a coroutine run in the loop's shared thread pool, its database
    connection closed when it returns, so nothing stays open across a wait."""

    def closing(*args, **kwargs):
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return sync_to_async(closing, thread_sensitive=False)


def _states(job_ids: list[uuid.UUID]) -> dict[uuid.UUID, JobState]:
    from jobs.models import GenerationJob

    rows = GenerationJob.objects.filter(id__in=job_ids).values_list(
        "id", "status", "partial_image_key", "error_code"
    )
    return {row[0]: JobState(*row[1:]) for row in rows}


@dataclass
class _Watched:
    state: JobState | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    waiters: int = 0


class JobWatcher:
    def __init__(self) -> None:
        self._jobs: dict[uuid.UUID, _Watched] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.polls = 0

    async def next_state(
        self, job_id: uuid.UUID, *, known: JobState | None, timeout: float
    ) -> JobState | None:
        """The job's state once it differs from ``known``; None after ``timeout`` seconds."""
        watched = self._jobs.setdefault(job_id, _Watched())
        watched.waiters += 1
        self._ensure_running()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while watched.state is None or watched.state == known:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                changed = watched.changed
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    return None
            return watched.state
        finally:
            watched.waiters -= 1
            if watched.waiters == 0:
                self._jobs.pop(job_id, None)

    def _ensure_running(self) -> None:
        self._wake.set()  # a new job is read at once, not at the next tick
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="openai_api.job_watcher")

    async def _run(self) -> None:
        interval = settings.ATELIER_API_POLL_MS / 1000
        while self._jobs:
            self._wake.clear()
            ids = list(self._jobs)
            try:
                states = await run_briefly(_states)(ids)
            except Exception:  # a database hiccup: the waiters keep waiting, we try again
                logger.exception("reading the state of %d held jobs failed", len(ids))
                states = None
            self.polls += 1
            if states is not None:
                for job_id in ids:
                    watched = self._jobs.get(job_id)
                    state = states.get(job_id, GONE)
                    if watched is not None and state != watched.state:
                        watched.state = state
                        watched.changed.set()
                        watched.changed = asyncio.Event()
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except TimeoutError:
                pass


_watchers: dict[asyncio.AbstractEventLoop, JobWatcher] = {}


def watcher() -> JobWatcher:
    """This event loop's watcher (one per web process; tests may run several loops)."""
    loop = asyncio.get_running_loop()
    if loop not in _watchers:
        for old in [known for known in _watchers if known.is_closed()]:
            del _watchers[old]
        _watchers[loop] = JobWatcher()
    return _watchers[loop]
