import os
import shutil
import sys
import tempfile

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A worker that serves metrics counts them in files shared by its pool processes; the
# directory must be known before prometheus-client is first imported.
if os.environ.get("ATELIER_WORKER_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="atelier-metrics-")

app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def under_gevent() -> bool:
    """Whether this process is a gevent worker (socket monkey-patched): every task runs in a
    greenlet of its own, and Celery's soft time limit never fires."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_tidy(signal=None, task=None, **kwargs) -> None:
    """What Django does around each web request, around each task: close a connection
    that broke or outlived CONN_MAX_AGE, and health-check the rest on their next use.
    Celery's own fixup closes every connection around every task instead (see
    CELERY_DB_REUSE_MAX in settings), which cost the CPU stage a new PostgreSQL backend
    for every job it stored. A greenlet's connections close when its task ends (with
    the I/O worker's pool, they go back to the pool)."""
    from django.db import connections

    if task is not None and getattr(task.request, "is_eager", False):
        return  # run inline by its caller, inside the caller's connection and transaction
    # Django's connections are per greenlet: one left open would outlive its task unreachable.
    ending_greenlet = signal is signals.task_postrun and under_gevent()
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        if ending_greenlet:
            connection.close()
        else:
            connection.close_if_unusable_or_obsolete()


@signals.worker_init.connect
def _worker_metrics_start(**kwargs) -> None:
    port = os.environ.get("ATELIER_WORKER_METRICS_PORT")
    if not port:
        return
    # Counts left by an earlier run of this container would be added to this one's.
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    from jobs.observability import worker_metrics_serve

    worker_metrics_serve(port=int(port))


def _logging_keep_json(**kwargs) -> None:
    """With ATELIER_LOG_FORMAT=json the worker keeps Django's LOGGING (JSON lines) instead of
    Celery's own text handlers; connecting this signal is how Celery is told so."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


if os.environ.get("ATELIER_LOG_FORMAT") == "json":
    signals.setup_logging.connect(_logging_keep_json)
