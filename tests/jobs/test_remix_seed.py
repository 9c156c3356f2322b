"""Remixing one image of a seeded job repeats the seed that drew that image
(jobs.forms.initial_from_image), so the remix redraws it."""

import pytest
from django.urls import reverse

from gallery.models import Image
from jobs.forms import initial_from_image
from jobs.models import GenerationJob
from jobs.providers.demo import DemoProvider
from jobs.registry import get_model


def seeded_job(owner, params):
    job = GenerationJob.objects.create(
        owner=owner,
        provider="demo",
        connection="demo",
        model="demo",
        prompt="two seeded dunes",
        params=params,
        status=GenerationJob.Status.SUCCEEDED,
    )
    images = [
        Image.objects.create(owner=owner, job=job, index=i, width=256, height=256, bytes=1)
        for i in range(2)
    ]
    return job, images


@pytest.mark.parametrize(("index", "seed"), [(0, 7), (1, 8)])
def test_each_image_remixes_with_the_seed_that_drew_it(alice, index, seed):
    _, images = seeded_job(alice, {"size": "256x256", "n": 2, "seed": 7})
    assert initial_from_image(images[index])["seed"] == seed


def test_an_unseeded_job_stays_unseeded(alice):
    _, images = seeded_job(alice, {"size": "256x256", "n": 2})
    assert "seed" not in initial_from_image(images[1])


def test_the_seed_plus_index_is_what_the_demo_provider_drew_with():
    spec = get_model("demo")
    pair = DemoProvider().generate(
        connection=None,
        spec=spec,
        prompt="two seeded dunes",
        params={"size": "256x256", "n": 2, "seed": 7},
        user_ref="t",
    )
    again = DemoProvider().generate(
        connection=None,
        spec=spec,
        prompt="two seeded dunes",
        params={"size": "256x256", "n": 1, "seed": 8},
        user_ref="t",
    )
    assert again.items[0]["b64_json"] == pair.items[1]["b64_json"]


def test_the_studio_prefills_the_second_images_seed(client, alice):
    _, images = seeded_job(alice, {"size": "256x256", "n": 2, "seed": 7})
    client.force_login(alice)
    response = client.get(reverse("jobs:studio"), {"remix": images[1].id})
    assert 'name="seed" type="number" inputmode="numeric" value="8"' in response.content.decode()
