"""Celery's soft time limit cutting an attempt short is not an unexpected error: the job
ends saying what happened, and what the provider may have billed stays counted. Runs on
the real worker, with a real per-message soft time limit."""

from decimal import Decimal

import pytest

from gallery.models import Image
from jobs.connections import connection_for_model
from jobs.models import GenerationJob
from jobs.registry import get_model
from jobs.tasks import run_generation_job
from moderation.selectors import usage_get
from tests.support import wait_for_job

Status = GenerationJob.Status
pytestmark = pytest.mark.django_db(transaction=True)


def queued_job(owner, prompt):
    """A job row as ``job_create`` makes it, with no message sent yet: the test sends the
    one message, with its time limit."""
    spec = get_model("dall-e-3")
    return GenerationJob.objects.create(
        owner=owner,
        provider=spec.family.value,
        connection=connection_for_model(spec).name,
        model=spec.name,
        prompt=prompt,
        params=spec.clean(prompt=prompt, params={}, allow_retired=True),
        cost_usd=Decimal("0.04"),
    )


def test_a_time_limit_during_the_provider_call_ends_the_job_unknown_with_its_price_kept(
    worker, alice, s3, fake_provider
):
    job = queued_job(alice, "a slow harbour fake:slow:4")

    run_generation_job.apply_async(args=[str(job.id)], soft_time_limit=1)
    job = wait_for_job(job, timeout=30)

    assert (job.status, job.error_code) == (Status.UNKNOWN, "timeout_unknown_outcome")
    assert "cannot tell whether it made (and billed)" in job.error_message
    assert job.cost_usd == Decimal("0.04")  # maybe billed: the reservation stays
    assert usage_get(user=alice).spend_this_month == Decimal("0.04")
    assert len(fake_provider.calls_for("a slow harbour")) == 1  # never sent again
    assert f"job {job.id} hit the task's soft time limit" in worker.log_path.read_text()


def test_a_time_limit_while_downloading_a_kept_answer_tries_the_download_again(
    worker, alice, s3, fake_provider
):
    job = queued_job(alice, "a slow quay fake:url_slow:3")

    run_generation_job.apply_async(args=[str(job.id)], soft_time_limit=1)
    job = wait_for_job(job, timeout=40)

    assert job.status == Status.SUCCEEDED, job.error_message
    assert job.attempts == 2
    assert Image.objects.filter(job=job).count() == 1
    assert (job.cost_usd, job.images_stored) == (Decimal("0.04"), 1)
    assert len(fake_provider.calls_for("a slow quay")) == 1  # the answer was kept, not re-bought
