"""Midjourney's Shorten (shorter prompts for the one being written) and Get seed (a
finished image's seed, recorded, shown and reused by remix), against the fake proxy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob

Status = GenerationJob.Status
LONG = "a lighthouse on a rocky cliff at dusk, dramatic clouds, oil painting, warm light --ar 3:2"


def run(job):
    services.job_run(job_id=job.id)
    job.refresh_from_db()


def poll(job):
    GenerationJob.objects.filter(id=job.id).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    run(job)


def calls(provider, part: str) -> list:
    return [c for c in provider.calls if part in c.path]


def test_shorten_in_the_studio_lists_shorter_prompts_one_click_from_the_box(
    client, alice, s3, fake_connections
):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:midjourney_shorten"),
        {"model": "midjourney", "prompt": LONG},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 201, response.content.decode()
    job = GenerationJob.objects.get(kind=GenerationJob.Kind.SHORTEN)
    assert job.prompt == LONG
    run(job)
    [submit] = calls(fake_connections, "/mj/submit/shorten")
    assert submit.body["prompt"] == LONG
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert not Image.objects.filter(job=job).exists()
    body = client.get(reverse("jobs:job_card", args=[job.id])).content.decode()
    assert body.count("Use this prompt") == 3
    assert 'data-prompt="a lighthouse on a rocky"' in body
    assert 'data-model="midjourney"' in body and "1️⃣" not in body


def test_shorten_is_midjourneys_only_and_needs_a_prompt(client, alice, s3, fake_connections):
    client.force_login(alice)
    url = reverse("jobs:midjourney_shorten")
    refused = client.post(url, {"model": "dall-e-3", "prompt": LONG}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert refused["HX-Retarget"] == "#shorten-notice"
    assert "Only Midjourney shortens prompts." in refused.content.decode()
    empty = client.post(url, {"model": "midjourney", "prompt": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 400
    assert "Write a prompt describing the image." in empty.content.decode()
    assert not GenerationJob.objects.exists()


def test_the_studio_offers_shorten_beside_the_prompt(client, alice, fake_connections):
    client.force_login(alice)
    body = client.get(reverse("jobs:studio")).content.decode()
    assert 'id="shorten-button"' in body and 'data-family="midjourney"' in body


@pytest.fixture
def grid(alice, s3, fake_connections):
    job = services.job_create(user=alice, model_name="midjourney", prompt=LONG, params={})
    run(job)
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED
    return job


def test_get_seed_records_the_seed_shows_it_and_remix_draws_with_it(
    client, alice, grid, fake_connections
):
    client.force_login(alice)
    card = client.get(reverse("jobs:job_card", args=[grid.id])).content.decode()
    assert "Get seed" in card
    response = client.post(reverse("jobs:midjourney_seed", args=[grid.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    grid.refresh_from_db()
    assert grid.provider_seed.isdigit()
    assert f"Seed: {grid.provider_seed}" in response.content.decode()
    image = Image.objects.get(job=grid)
    page = client.get(reverse("gallery:detail", args=[image.id])).content.decode()
    assert f'<dd class="seed">{grid.provider_seed}</dd>' in page
    remix = client.get(reverse("jobs:studio"), {"remix": image.id})
    assert remix.context["form"].initial["prompt"] == f"{LONG} --seed {grid.provider_seed}"
    # Asked once: the recorded seed is not fetched again.
    client.post(reverse("jobs:midjourney_seed", args=[grid.id]), HTTP_HX_REQUEST="true")
    assert len(calls(fake_connections, "/image-seed")) == 1


def test_without_a_dm_channel_the_card_says_so_plainly(client, alice, grid, fake_connections):
    fake_connections.mj_seed_channel = False
    client.force_login(alice)
    response = client.post(reverse("jobs:midjourney_seed", args=[grid.id]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "direct-message channel configured on its side" in body
    assert "请配置私聊频道" in body  # the proxy's own words, as it said them
    grid.refresh_from_db()
    assert grid.provider_seed == ""


def test_charlie_gets_404_asking_for_alices_seed(client, charlie, grid):
    client.force_login(charlie)
    assert client.post(reverse("jobs:midjourney_seed", args=[grid.id])).status_code == 404
