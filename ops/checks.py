"""Readiness checks: each dependency answers within a timeout, or the check names it.

Each check runs in its own thread with fresh connections, so a hung dependency costs the
probe its timeout and nothing else (the request's pooled connections are not touched).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    ms: int
    error: str = ""


def _database(timeout: float) -> None:
    from django.db.utils import ConnectionHandler

    # A throwaway handler reads DATABASES afresh and never hands out a pooled connection.
    handler = ConnectionHandler()
    alias = "default"
    handler.settings[alias].setdefault("OPTIONS", {})
    if handler.settings[alias]["ENGINE"].endswith("postgresql"):
        handler.settings[alias]["OPTIONS"]["connect_timeout"] = max(1, int(timeout))
    connection = handler[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def _broker(timeout: float) -> None:
    from config.celery import app

    with app.connection_for_read(
        url=settings.CELERY_BROKER_URL, connect_timeout=timeout
    ) as connection:
        connection.ensure_connection(max_retries=0, timeout=max(1, int(timeout)))
        connection.default_channel  # noqa: B018 - opening a channel talks to the broker


def _storage(timeout: float) -> None:
    from django.core.files.storage import storages

    # A missing key is a fine answer: the storage replied.
    storages["default"].exists(".atelier-readyz-probe")


CHECKS: dict[str, Callable[[float], None]] = {
    "database": _database,
    "broker": _broker,
    "storage": _storage,
}


def _timed(name: str, check: Callable[[float], None], timeout: float) -> CheckResult:
    started = time.monotonic()
    try:
        check(timeout)
    except Exception as exc:
        logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
        return CheckResult(
            name, False, int((time.monotonic() - started) * 1000), type(exc).__name__
        )
    return CheckResult(name, True, int((time.monotonic() - started) * 1000))


def readiness_check(*, timeout: float | None = None) -> list[CheckResult]:
    """Run every check at once; one that does not answer within the timeout fails."""
    timeout = timeout if timeout is not None else settings.ATELIER_READYZ_TIMEOUT
    executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    futures = {
        name: executor.submit(_timed, name, check, timeout) for name, check in CHECKS.items()
    }
    deadline = time.monotonic() + timeout
    results = []
    for name, future in futures.items():
        try:
            results.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
        except FutureTimeout:
            logger.warning("readiness check %s did not answer within %ss", name, timeout)
            results.append(CheckResult(name, False, int(timeout * 1000), "timeout"))
    # A hung check keeps its thread until its own socket timeout; the probe does not wait.
    executor.shutdown(wait=False)
    return results
