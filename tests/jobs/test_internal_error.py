"""An error no code path expected ends the job at once, failed as internal_error, logged.

The hostile input is real: a provider reply whose revised prompt holds a NUL character,
which PostgreSQL refuses to store, run through the Celery worker process.
"""

from decimal import Decimal

import pytest

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob
from tests.support import broker_silenced, wait_for_job

Status = GenerationJob.Status
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_the_database_cannot_store_fails_the_job_at_once_as_internal_error(
    worker, alice, s3, fake_provider
):
    job = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a harbour fake:nul_revised", params={}
    )

    job = wait_for_job(job, timeout=30)

    assert job.status == Status.FAILED
    assert job.error_code == "internal_error"
    assert "unexpected error" in job.error_message
    assert "not the provider's" in job.error_message
    assert job.attempts == 1
    assert len(fake_provider.calls_for("a harbour")) == 1  # no provider retries
    assert job.lease_expires_at is None and job.finished_at is not None
    assert not Image.objects.filter(job=job).exists()
    log = worker.log_path.read_text()
    assert f"job {job.id} failed with an unexpected error" in log
    assert "Traceback" in log


def test_an_internal_error_is_not_reclaimed_by_a_later_delivery(
    alice, s3, fake_provider, monkeypatch
):
    broker_silenced(monkeypatch)  # this test runs the job itself, not the suite's live worker
    job = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a quay fake:nul_revised", params={}
    )
    services.job_run(job_id=job.id)
    services.job_run(job_id=job.id)  # a redelivered message

    job.refresh_from_db()
    assert (job.status, job.error_code, job.attempts) == (Status.FAILED, "internal_error", 1)
    assert len(fake_provider.calls_for("a quay")) == 1


def test_an_image_whose_pixels_pillow_cannot_decode_fails_at_once_as_invalid_image(
    alice, s3, fake_provider, monkeypatch
):
    broker_silenced(monkeypatch)  # this test runs the job itself, not the suite's live worker
    # Its header checks pass; only the thumbnail decodes the pixels. That error once looked
    # like a storage outage and was retried for minutes.
    job = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a pier fake:broken_pixels", params={}
    )

    outcome = services.job_run(job_id=job.id)

    job.refresh_from_db()
    assert outcome.retry_in is None
    assert (job.status, job.error_code) == (Status.FAILED, "invalid_image")
    assert "pixels are damaged" in job.error_message
    assert not Image.objects.filter(job=job).exists()
    assert job.cost_usd == Decimal("0.04")  # the provider made (and billed) it
