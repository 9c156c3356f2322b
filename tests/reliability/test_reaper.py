"""The reaper: the database, not the broker, decides which jobs still need a worker."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from jobs import services
from jobs.models import GenerationJob
from jobs.services import reaper
from tests.factories import GenerationJobFactory

Status = GenerationJob.Status


@pytest.fixture
def enqueued(monkeypatch):
    sent = []

    def enqueue(*, job_id, countdown=None):
        sent.append(job_id)

    # The reaper calls the name it imported; callers elsewhere go through jobs.services.
    monkeypatch.setattr(services, "job_enqueue", enqueue)
    monkeypatch.setattr(reaper, "job_enqueue", enqueue, raising=False)
    return sent


def ago(seconds):
    return timezone.now() - dt.timedelta(seconds=seconds)


def test_it_requeues_a_queued_job_whose_message_was_lost(alice, enqueued):
    job = GenerationJobFactory(
        owner=alice,
        updated_at=ago(settings.ATELIER_QUEUED_STALE_SECONDS + 5),
    )
    fresh = GenerationJobFactory(owner=alice)
    report = services.jobs_reap()
    assert report.requeued == [job.id]
    assert enqueued == [job.id]
    assert fresh.id not in enqueued


def test_two_reapers_never_requeue_the_same_job_twice(alice, enqueued):
    GenerationJobFactory(
        owner=alice,
        updated_at=ago(settings.ATELIER_QUEUED_STALE_SECONDS + 5),
    )
    services.jobs_reap()
    services.jobs_reap()
    assert len(enqueued) == 1


def test_a_running_job_with_a_live_lease_is_left_alone(alice, enqueued):
    GenerationJobFactory(
        owner=alice,
        status=Status.RUNNING,
        lease_expires_at=timezone.now() + dt.timedelta(minutes=1),
    )
    assert services.jobs_reap().requeued == []


def test_a_dead_workers_job_mid_call_ends_unknown_without_calling_again(
    alice, enqueued, fake_provider
):
    job = GenerationJobFactory(
        owner=alice,
        status=Status.RUNNING,
        attempts=1,
        lease_expires_at=ago(1),
        provider_request_sent_at=ago(30),
        prompt="a lost call",
    )
    assert services.jobs_reap().requeued == [job.id]
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == Status.UNKNOWN
    assert job.error_code == "worker_lost_unknown_outcome"
    assert "usage page" in job.error_message
    assert fake_provider.calls_for("a lost call") == []


def test_a_dead_workers_job_before_the_call_runs_normally(alice, enqueued, fake_provider, s3):
    job = GenerationJobFactory(
        owner=alice,
        status=Status.RUNNING,
        attempts=1,
        lease_expires_at=ago(1),
        prompt="a job never sent",
    )
    services.jobs_reap()
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error_message
    assert len(fake_provider.calls_for("a job never sent")) == 1


def test_it_fails_jobs_past_their_deadline_with_a_clear_message(alice, enqueued):
    job = GenerationJobFactory(
        owner=alice,
        created_at=ago(settings.ATELIER_JOB_DEADLINE_SECONDS + 1),
        updated_at=ago(settings.ATELIER_JOB_DEADLINE_SECONDS + 1),
    )
    report = services.jobs_reap()
    job.refresh_from_db()
    assert report.expired == [job.id] and enqueued == []
    assert job.status == Status.FAILED and job.error_code == "deadline_exceeded"
    assert "submit it again" in job.error_message


def test_the_task_policy_holds_together():
    # A claim outlives the hard time limit, so an expired lease means a dead worker.
    assert settings.ATELIER_JOB_LEASE_SECONDS > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT > settings.ATELIER_PROVIDER_TIMEOUT
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.ATELIER_JOB_LEASE_SECONDS
    assert visibility > services.MAX_RETRY_DELAY_SECONDS
    assert "reap-stale-jobs" in settings.CELERY_BEAT_SCHEDULE


def test_retry_after_is_honoured_but_bounded():
    assert services.backoff_seconds(1, retry_after=30) == 30
    assert services.backoff_seconds(1, retry_after=10_000) == services.MAX_RETRY_DELAY_SECONDS
    delays = [services.backoff_seconds(attempt) for attempt in range(1, 10)]
    assert all(0 < d <= services.BACKOFF_CAP_SECONDS for d in delays)
    assert max(delays[6:]) > min(delays[:2])


def test_staff_resume_a_job_whose_storage_stayed_down_without_paying_again(
    admin_client, alice, s3, fake_provider, settings, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from jobs.models import ProviderAnswer
    from moderation.models import AuditEntry

    job = services.job_create(user=alice, model_name="dall-e-2", prompt="a kept answer", params={})
    settings.ATELIER_STORAGE_MAX_ATTEMPTS = 1
    working_storages = settings.STORAGES
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {
                **settings.STORAGES["default"]["OPTIONS"],
                "endpoint_url": "http://127.0.0.1:9",
            },
        },
    }
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (Status.FAILED, "storage_unavailable")
    assert ProviderAnswer.objects.filter(job=job).exists()

    settings.STORAGES = working_storages  # storage is back
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:jobs_generationjob_changelist"),
            {"action": "resume_from_kept_answer", "_selected_action": [str(job.id)]},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error_message
    assert len(fake_provider.calls_for("a kept answer")) == 1
    assert AuditEntry.objects.filter(action="job.resume", target_id=str(job.id)).exists()


def test_a_failed_job_without_a_kept_answer_is_not_resumed(alice):
    job = GenerationJobFactory(owner=alice, status=Status.FAILED, error_code="invalid_model")
    assert services.job_resume(job=job) is False
    job.refresh_from_db()
    assert job.status == Status.FAILED
