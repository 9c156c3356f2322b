import pytest
from django.urls import reverse

from jobs.models import GenerationJob


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def test_it_shows_registry_errors_beside_their_fields(logged_in):
    response = logged_in.post(
        reverse("jobs:studio"),
        {
            "model": "dall-e-3",
            "prompt": "x" * 4001,
            "size": "512x512",
            "n": "2",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["prompt"] == [
        "DALL·E 3 accepts prompts of at most 4,000 characters; this one has 4,001."
    ]
    assert form.errors["size"] == [
        "DALL·E 3 supports these sizes: 1024x1024, 1792x1024, 1024x1792."
    ]
    assert form.errors["n"] == ["DALL·E 3 makes exactly one image per request."]
    assert GenerationJob.objects.count() == 0


def test_a_retired_model_not_served_by_any_connection_is_refused(logged_in):
    response = logged_in.post(reverse("jobs:studio"), {"model": "gpt-image-1", "prompt": "cat"})
    assert response.status_code == 400
    assert "gpt-image-1" in str(response.context["form"].errors["model"])


def test_it_creates_a_job_and_answers_htmx_with_its_card(
    logged_in, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = logged_in.post(
            reverse("jobs:studio"), {"model": "demo", "prompt": "a kite"}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 201
    job = GenerationJob.objects.get(owner=alice)
    assert f'id="job-{job.id}"' in response.content.decode()
    assert job.params == {"size": "512x512", "n": 1}
    assert len(callbacks) == 1  # enqueued only once the transaction commits


def test_charlie_cannot_cancel_alices_job(client, alice, charlie):
    job = GenerationJob.objects.create(
        owner=alice, provider="demo", connection="demo", model="demo", prompt="p", params={}
    )
    client.force_login(charlie)
    assert client.post(reverse("jobs:job_cancel", args=[job.id])).status_code == 404
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.QUEUED


def test_alice_cancels_her_queued_job(client, alice):
    job = GenerationJob.objects.create(
        owner=alice, provider="demo", connection="demo", model="demo", prompt="p", params={}
    )
    client.force_login(alice)
    client.post(reverse("jobs:job_cancel", args=[job.id]))
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.CANCELLED
