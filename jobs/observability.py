"""What a worker tells operators: a log line per job transition and per-process event metrics.

Event metrics (provider latency, provider errors, storage errors) count in the process
where they happen. A worker started with ATELIER_WORKER_METRICS_PORT serves them, summed
over its pool processes through prometheus-client's multiprocess mode (config/celery.py
prepares PROMETHEUS_MULTIPROC_DIR before prometheus-client is imported). Figures that live
in the database and broker are read there by web's /metrics (ops/collectors.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.utils import timezone
from prometheus_client import Counter, Histogram

from jobs.signals import job_finished

logger = logging.getLogger("atelier.jobs")

# GenerationJob.TERMINAL, spelt out: this module is imported before the app registry is ready.
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "unknown", "cancelled"})

PROVIDER_SECONDS = Histogram(
    "atelier_provider_request_duration_seconds",
    "Time a provider took to answer one request (any outcome), by connection and model.",
    ["connection", "model"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
PROVIDER_ERRORS = Counter(
    "atelier_provider_errors",
    "Errors providers answered (or timeouts), by connection, model and error code.",
    ["connection", "model", "code"],
)
STORAGE_ERRORS = Counter(
    "atelier_storage_errors",
    "Storage operations that failed while running jobs, by operation.",
    ["operation"],
)


def job_transition(job, *, status: str, code: str = "", previous: str = "") -> None:
    """One line per transition: job id, model, connection, duration and outcome."""
    started = job.started_at if status != "running" else None
    since = started or job.created_at
    duration = (timezone.now() - since).total_seconds() if since else 0.0
    outcome = code or status
    logger.info(
        "job %s %s→%s model=%s connection=%s duration=%.2fs outcome=%s",
        job.id,
        previous or job.status,
        status,
        job.model,
        job.connection,
        duration,
        outcome,
        extra={
            "job_id": str(job.id),
            "from_status": previous or job.status,
            "status": status,
            "model": job.model,
            "connection": job.connection,
            "duration_s": round(duration, 3),
            "outcome": outcome,
            "attempt": job.attempts,
        },
    )
    if status in TERMINAL_STATUSES:
        # A listener's failure must never undo or interrupt the transition it hears about.
        answers = job_finished.send_robust(
            sender=job.__class__, job_id=job.id, status=status, code=code
        )
        for receiver, answer in answers:
            if isinstance(answer, Exception):
                logger.error("job %s: %r failed on job_finished", job.id, receiver, exc_info=answer)


@contextlib.contextmanager
def provider_request(job) -> Iterator[None]:
    """Time one provider request; count the error code when it fails."""
    from jobs.providers import ProviderError

    started = time.monotonic()
    try:
        yield
    except ProviderError as exc:
        PROVIDER_ERRORS.labels(job.connection, job.model, exc.code).inc()
        raise
    finally:
        PROVIDER_SECONDS.labels(job.connection, job.model).observe(time.monotonic() - started)


def storage_error(*, operation: str) -> None:
    STORAGE_ERRORS.labels(operation).inc()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - scrapes every few seconds
        pass


def worker_metrics_serve(*, port: int, address: str = "0.0.0.0") -> WSGIServer:
    """Serve this worker's pool-wide metrics, behind the same token/allow-list as web."""
    from django.conf import settings
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from ops.access import metrics_access

    registry = CollectorRegistry()
    MultiProcessCollector(registry)

    def app(environ, start_response):
        status = metrics_access(
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            remote_addr=environ.get("REMOTE_ADDR", ""),
            token=settings.ATELIER_METRICS_TOKEN,
            allow=settings.ATELIER_METRICS_ALLOW,
        )
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if status != 200:
            reason = "401 Unauthorized" if status == 401 else "403 Forbidden"
            start_response(reason, [("Content-Type", "text/plain")])
            return [b"Metrics need a token or an allowed address.\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(registry)]

    server = make_server(
        address, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("worker metrics on %s:%d", address, port)
    return server
