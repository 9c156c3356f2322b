"""SQLite's "database is locked": the embedded default's one way for a save to fail under load.

PostgreSQL queues writers on row locks and never raises this; on SQLite a writer that
waited out the busy timeout does. The worker retries such a save briefly, and when it
still cannot, puts the job back in the queue with a word on its card.
"""

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

T = TypeVar("T")

LOCK_RETRY_DELAYS = (0.2, 0.5, 1.0)


def is_lock_error(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and "locked" in str(error).lower()


def retry_on_lock(save: Callable[[], T], *, delays: tuple[float, ...] = LOCK_RETRY_DELAYS) -> T:
    """Run ``save``; on a lock error wait a little and run it again, a few times."""
    for delay in delays:
        try:
            return save()
        except OperationalError as error:
            if not is_lock_error(error):
                raise
        time.sleep(delay)
    return save()
