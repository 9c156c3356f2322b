"""One studio form, one job: a doubled or retried submit returns the first job's card."""

import threading
import uuid

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from jobs.models import GenerationJob
from jobs.selectors import job_for_submit_token
from tests.support import broker_silenced


def _post(client: Client, token, prompt="a moth at a window"):
    return client.post(
        reverse("jobs:studio"),
        {"model": "dall-e-3", "prompt": prompt, "submit_token": str(token)},
        HTTP_HX_REQUEST="true",
    )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_of_one_form_make_one_job(alice, fake_provider, monkeypatch):
    # Committed jobs the suite's live worker must not run: the flush at teardown would
    # deadlock with its writes.
    broker_silenced(monkeypatch)
    token = uuid.uuid4()
    barrier = threading.Barrier(2)
    responses = []

    def submit():
        client = Client()
        client.force_login(alice)
        barrier.wait()
        try:
            responses.append(_post(client, token))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [job] = GenerationJob.objects.filter(owner=alice)
    assert job.submit_token == token
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert all(f'id="job-{job.id}"' in r.content.decode() for r in responses)


@pytest.mark.django_db(transaction=True)
def test_a_retried_post_returns_the_first_jobs_card_in_its_place(alice, fake_provider, monkeypatch):
    broker_silenced(monkeypatch)
    client = Client()
    client.force_login(alice)
    token = uuid.uuid4()
    first = _post(client, token)
    again = _post(client, token, prompt="a changed prompt")
    job = GenerationJob.objects.get(owner=alice)
    assert first.status_code == 201 and again.status_code == 200
    assert again["HX-Retarget"] == f"#job-{job.id}"
    assert GenerationJob.objects.filter(owner=alice).count() == 1
    # Each answer carries a fresh token for the form's next submit.
    assert 'name="submit_token"' in first.content.decode()
    assert str(token) not in first.content.decode().split('name="submit_token"')[1][:80]


@pytest.mark.django_db
def test_the_same_token_from_another_user_is_their_own_job(alice, bob):
    token = uuid.uuid4()
    GenerationJob.objects.create(
        owner=alice, provider="openai_images", connection="openai", model="dall-e-3",
        prompt="alice's", submit_token=token,
    )  # fmt: skip
    assert job_for_submit_token(user=bob, submit_token=token) is None
