"""Writing side of generation jobs: create, run, cancel, retry.

A job moves queued → running → succeeded | failed | unknown | cancelled. Every
transition is a conditional UPDATE; a count other than one means another
worker (or the user) got there first, and this one steps back.

The package follows a job's life: ``create`` (and ``inputs``), ``run`` (the I/O stage of
an attempt, through ``state``'s guarded transitions), ``answers`` (the kept answer in
storage, the hand-off), ``store`` (the CPU stage), ``midjourney``, ``control`` (cancel,
resume, retry) and ``reaper``. Callers import from ``jobs.services``.
"""

from jobs.services.control import job_cancel, job_resume, job_retry
from jobs.services.create import (
    job_create,
    job_create_blend,
    job_create_describe,
    job_create_edit,
    job_create_variation,
    job_enqueue,
    job_store_enqueue,
)
from jobs.services.inputs import InputUnavailable, _read_input
from jobs.services.midjourney import job_create_midjourney_action
from jobs.services.money import job_cost_usd, job_estimate_usd, money_field
from jobs.services.reaper import ReapReport, jobs_reap
from jobs.services.run import (
    DATABASE_BUSY_PROGRESS,
    DATABASE_BUSY_RETRY_SECONDS,
    INTERNAL_ERROR_MESSAGE,
    job_run,
    job_run_io,
    user_reference,
)
from jobs.services.state import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    CANCELLED_KEPT_MESSAGE,
    MAX_RETRY_DELAY_SECONDS,
    PROVIDER_URL_LIFETIME,
    RunOutcome,
    StorageUnavailable,
    backoff_seconds,
)
from jobs.services.store import download_image, job_partial_store, job_store

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "CANCELLED_KEPT_MESSAGE",
    "DATABASE_BUSY_PROGRESS",
    "DATABASE_BUSY_RETRY_SECONDS",
    "INTERNAL_ERROR_MESSAGE",
    "InputUnavailable",
    "MAX_RETRY_DELAY_SECONDS",
    "PROVIDER_URL_LIFETIME",
    "ReapReport",
    "RunOutcome",
    "StorageUnavailable",
    "_read_input",
    "backoff_seconds",
    "download_image",
    "job_cancel",
    "job_cost_usd",
    "job_create",
    "job_create_blend",
    "job_create_describe",
    "job_create_edit",
    "job_create_midjourney_action",
    "job_create_variation",
    "job_enqueue",
    "job_estimate_usd",
    "job_resume",
    "job_retry",
    "job_partial_store",
    "job_run",
    "job_run_io",
    "job_store",
    "job_store_enqueue",
    "jobs_reap",
    "money_field",
    "user_reference",
]
