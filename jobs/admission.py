"""Whether a user may queue a job right now, decided before anything is queued or paid for.

Moderation (suspensions, the prompt blocklist), quotas and rate limits plug in here.
"""

from __future__ import annotations


class JobRefused(Exception):
    """A job refused for a reason the user must see; views answer with ``status_code``."""

    def __init__(self, message: str, *, status_code: int = 403, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


def admission_check(*, user, prompt: str, spec) -> None:
    if not user.is_active:
        raise JobRefused("Your account is not active.")
