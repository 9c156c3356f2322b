"""Progress text a provider streams while it works ("生成中 45%"), onto the job's card.

The card polls once a second, so the row is written at most about that often, each time
with a short-lived database connection: the stream goes on waiting without one.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError
from django.utils import timezone

from jobs.models import GenerationJob
from jobs.services.state import _guarded, release_db

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0
_PROGRESS_MAX = GenerationJob._meta.get_field("progress").max_length or 64


class ProgressNotes:
    """A callable for ``on_progress``: each new text written, at most once a ``every``
    seconds (a line that comes sooner is passed over; the next one says more)."""

    def __init__(self, job, token, *, every: float = PROGRESS_EVERY_SECONDS):
        self.job = job
        self.token = token
        self.every = every
        self.written = ""
        self._written_at = float("-inf")

    def __call__(self, text: str) -> None:
        text = " ".join(text.split())[:_PROGRESS_MAX]
        now = time.monotonic()
        if not text or text == self.written or now - self._written_at < self.every:
            return
        self._written_at = now
        try:
            # Guarded: a cancelled or reclaimed job is not written to.
            _guarded(self.job, self.token).update(progress=text, updated_at=timezone.now())
        except DatabaseError as exc:  # progress is disposable; the stream is not
            logger.info("job %s progress not saved: %s", self.job.id, exc)
            return
        finally:
            release_db()
        self.written = text
