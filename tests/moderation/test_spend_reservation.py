"""What is paid is counted: a job reserves its price when admitted, settles it when it
ends, and releases it when nothing was paid; quotas count the images stored."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from gallery.models import Image
from jobs import services
from jobs.admission import JobRefused
from jobs.models import GenerationJob
from moderation.models import Quota
from moderation.selectors import usage_get
from tests.support import broker_silenced

Status = GenerationJob.Status
# DALL·E 3, standard quality: $0.04 an image.
PRICE = Decimal("0.04")


def submit(user, prompt="a lighthouse"):
    return services.job_create(user=user, model_name="dall-e-3", prompt=prompt, params={})


def test_queued_jobs_count_against_the_spend_limit(alice, s3):
    Quota.objects.create(user=alice, monthly_spend_usd=Decimal("0.10"))
    first, second = submit(alice), submit(alice)
    assert (first.cost_usd, second.cost_usd) == (PRICE, PRICE)

    with pytest.raises(JobRefused) as refused:
        submit(alice)

    assert refused.value.status_code == 429
    assert refused.value.message.startswith(
        "Your monthly spend quota is reached: $0.08 of $0.10 this month; "
        "this job would cost about $0.04 more."
    )
    assert GenerationJob.objects.filter(owner=alice).count() == 2
    assert usage_get(user=alice).spend_this_month == Decimal("0.08")


def test_cancelling_a_queued_job_releases_its_reservation(alice, s3):
    Quota.objects.create(user=alice, monthly_spend_usd=Decimal("0.05"))
    job = submit(alice)
    with pytest.raises(JobRefused):
        submit(alice)

    assert services.job_cancel(job=job)

    job.refresh_from_db()
    assert (job.status, job.cost_usd, job.images_stored) == (Status.CANCELLED, None, 0)
    assert usage_get(user=alice).spend_this_month == 0
    submit(alice)  # room again


def test_a_job_the_provider_refused_releases_its_reservation(alice, s3, fake_provider):
    job = submit(alice, prompt="a lighthouse fake:invalid_api_key")
    assert usage_get(user=alice).spend_this_month == PRICE

    services.job_run(job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.cost_usd, job.images_stored) == (Status.FAILED, None, 0)
    assert usage_get(user=alice).spend_this_month == 0


def test_a_finished_job_settles_to_the_price_of_what_it_made(alice, s3, fake_provider):
    job = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a lighthouse", params={"quality": "hd"}
    )
    assert job.cost_usd == Decimal("0.08")

    services.job_run(job_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.cost_usd, job.images_stored) == (Status.SUCCEEDED, Decimal("0.08"), 1)
    assert usage_get(user=alice).spend_this_month == Decimal("0.08")


@pytest.mark.django_db(transaction=True)
def test_the_spend_limit_holds_under_concurrent_submits(alice, s3, monkeypatch):
    broker_silenced(monkeypatch)  # committed jobs, which the suite's live worker must not run
    Quota.objects.create(user=alice, monthly_spend_usd=Decimal("0.10"), jobs_per_minute=100)
    barrier = threading.Barrier(8)
    admitted, refused = [], []

    def attempt(number):
        try:
            barrier.wait()
            admitted.append(submit(alice, prompt=f"a lighthouse {number}"))
        except JobRefused:
            refused.append(number)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert (len(admitted), len(refused)) == (2, 6)
    assert GenerationJob.objects.filter(owner=alice).count() == 2
    assert usage_get(user=alice).spend_this_month == Decimal("0.08")


def test_a_chat_reply_counts_every_image_it_stored_against_the_daily_quota(
    alice, s3, fake_connections
):
    job = services.job_create(
        user=alice, model_name="gpt-4-all", prompt="two boats fake:markdown_two", params={}
    )
    assert usage_get(user=alice).images_today == 1  # asked for one while it runs

    services.job_run(job_id=job.id)

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error_message
    assert Image.objects.filter(job=job).count() == 2
    assert job.images_stored == 2
    assert usage_get(user=alice).images_today == 2
    # The catalogue prices a chat model per reply, however many images the reply links.
    assert job.cost_usd == Decimal("0.04")


def test_a_job_never_sent_and_past_its_deadline_releases_its_reservation(alice, s3, settings):
    job = submit(alice)
    late = timezone.now() - dt.timedelta(seconds=settings.ATELIER_JOB_DEADLINE_SECONDS + 60)
    GenerationJob.objects.filter(id=job.id).update(created_at=late)

    report = services.jobs_reap()

    job.refresh_from_db()
    assert report.expired == [job.id]
    assert (job.status, job.error_code, job.cost_usd) == (
        Status.FAILED,
        "deadline_exceeded",
        None,
    )
