"""A job run by the real Celery worker produces its event exactly once, and the worker's
delivery keeps to the address rules (the suite's worker allows no loopback endpoint)."""

from __future__ import annotations

import os
import time

import pytest
from django.urls import reverse

from jobs.models import GenerationJob
from tests.support import wait_for_job
from webhooks.models import Delivery, Endpoint
from webhooks.sealing import secret_seal
from webhooks.services import _secret_new

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_delivery(delivery: Delivery, *, timeout: float = 30.0) -> Delivery:
    deadline = time.time() + timeout
    while time.time() < deadline:
        delivery.refresh_from_db()
        if delivery.status != Delivery.Status.PENDING:
            return delivery
        time.sleep(0.1)
    raise AssertionError(f"delivery {delivery.id} still pending after {timeout}s")


def test_a_job_run_by_the_worker_makes_one_job_succeeded_delivery(
    worker, client, alice, receiver, fake_provider
):
    assert not os.environ.get("ATELIER_WEBHOOK_ALLOWED_NETWORKS"), "the worker must refuse loopback"
    # Made directly: registration would refuse a loopback URL, as the worker will.
    endpoint = Endpoint.objects.create(
        owner=alice,
        created_by=alice,
        url=receiver.url,
        event_types=["job.succeeded", "job.failed"],
        secret_sealed=secret_seal(_secret_new()),
    )
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"),
        {
            "model": "dall-e-3",
            "prompt": "a webhook heron",
            "size": "1024x1024",
            "quality": "standard",
            "style": "natural",
        },
    )
    assert response.status_code == 302

    job = wait_for_job(GenerationJob.objects.get(owner=alice))
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    # The worker records the event just after the job's own UPDATE commits.
    deadline = time.time() + 10
    while not Delivery.objects.filter(endpoint=endpoint).exists() and time.time() < deadline:
        time.sleep(0.05)
    [delivery] = Delivery.objects.filter(endpoint=endpoint)
    assert (delivery.job_id, delivery.event_type) == (job.id, "job.succeeded")
    assert delivery.payload["data"]["id"] == str(job.id)
    assert [i["id"] for i in delivery.payload["data"]["images"]] == list(
        job.images.values_list("id", flat=True)
    )

    delivery = wait_for_delivery(delivery)
    assert delivery.status == Delivery.Status.REFUSED
    assert receiver.received == []
    assert "127.0.0.1" in delivery.attempt_log.get().error
    assert Delivery.objects.count() == 1
