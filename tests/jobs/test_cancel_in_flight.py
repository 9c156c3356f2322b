"""Cancelling a job while its provider call is in flight: the provider bills the call, so
the image it made is kept and paid for, and the row, the card, the gallery and the spend
all say so. Runs through the Celery worker against a slow fake provider reply."""

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from gallery.models import Image
from gallery.selectors import image_list
from jobs import services
from jobs.models import GenerationJob
from moderation.selectors import usage_get

Status = GenerationJob.Status
CANCELLED_KEPT = "cancelled_kept"
pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(check, *, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_job_cancelled_while_the_provider_works_keeps_its_paid_image(
    worker, client, alice, s3, fake_provider
):
    job = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a slow lighthouse fake:slow:3", params={}
    )
    wait_until(
        lambda: fake_provider.calls_for("slow lighthouse"), what="the provider request to be sent"
    )

    assert services.job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.cost_usd == Decimal("0.04")  # still reserved: the call is being billed

    wait_until(
        lambda: GenerationJob.objects.filter(id=job.id, error_code=CANCELLED_KEPT).exists(),
        what="the worker to keep the image",
    )
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.kept_after_cancel
    assert job.error_message == "Cancelled, but the provider had already made it: kept."
    assert (job.cost_usd, job.images_stored) == (Decimal("0.04"), 1)
    assert job.lease_expires_at is None and job.progress == ""

    [image] = Image.objects.filter(job=job)
    assert list(image_list(user=alice)) == [image]
    usage = usage_get(user=alice)
    assert (usage.spend_this_month, usage.images_today) == (Decimal("0.04"), 1)

    client.force_login(alice)
    card = client.get(reverse("jobs:job_card", args=[job.id])).content.decode()
    assert "Cancelled, but the provider had already made it: kept." in card
    assert f'data-image-id="{image.id}"' in card
    assert 'role="alert"' not in card  # a notice, not an error
    assert "hx-trigger" not in card  # finished: the card stops polling
    # The worker's log says the same as the card.
    assert f"job {job.id} cancelled→cancelled" in worker.log_path.read_text()
    assert "outcome=cancelled_kept" in worker.log_path.read_text()

    # A later delivery of the same message changes nothing.
    services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.error_code, job.cost_usd) == (
        Status.CANCELLED,
        CANCELLED_KEPT,
        Decimal("0.04"),
    )
    assert len(fake_provider.calls_for("slow lighthouse")) == 1


def test_a_job_cancelled_while_the_provider_fails_it_releases_its_reservation(
    worker, alice, s3, fake_provider, monkeypatch
):
    respond = fake_provider._respond

    def slowly(handler, body, model, **kwargs):
        time.sleep(3)  # the provider works a while, then fails (a retryable 500)
        return respond(handler, body, model, **kwargs)

    monkeypatch.setattr(fake_provider, "_respond", slowly)
    job = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a slow pier fake:internal_error", params={}
    )
    wait_until(lambda: fake_provider.calls_for("slow pier"), what="the provider request")

    assert services.job_cancel(job=job)
    assert usage_get(user=alice).spend_this_month == Decimal("0.04")  # maybe billed, so far

    wait_until(
        lambda: GenerationJob.objects.get(id=job.id).cost_usd is None,
        what="the reservation to be released",
    )
    job.refresh_from_db()
    assert (job.status, job.images_stored) == (Status.CANCELLED, 0)
    assert usage_get(user=alice).spend_this_month == 0
    time.sleep(1)
    assert len(fake_provider.calls_for("slow pier")) == 1  # cancelled: never sent again
