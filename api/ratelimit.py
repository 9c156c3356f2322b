"""A per-token (or per-session) ceiling on API requests, beside the job quotas.

Job creation is limited by jobs.admission like the studio; this limit bounds every other
call (listing, searching, polling) so one script cannot monopolise the web tier. A token
has one budget for the REST API (/api/) and the OpenAI-compatible one (/v1/), so switching
surfaces does not double its rate. Counts
live in Django's cache: shared between processes when CACHES points at Redis, per process
on the embedded default.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def request_allowed(*, key: str, now: float | None = None) -> tuple[bool, int]:
    """Counts one request for ``key``; (allowed, seconds until the window resets)."""
    limit = settings.ATELIER_API_REQUESTS_PER_MINUTE
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    bucket = f"atelier:api-rate:{key}:{window}"
    # add() then incr() is atomic on Redis and on the local-memory cache.
    cache.add(bucket, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now))
    return count <= limit, retry_after


def token_request_allowed(*, token_id: int, now: float | None = None) -> tuple[bool, int]:
    """Counts one request made with the token, on either surface."""
    return request_allowed(key=f"token:{token_id}", now=now)
