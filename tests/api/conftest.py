import io
from types import SimpleNamespace

import pytest
from django.test import Client
from PIL import Image as PILImage

from api.services import token_create
from gallery.services import collection_add, collection_create, image_share, image_store
from jobs.models import GenerationJob
from teams.models import Membership, Team
from tests.factories import UserFactory


class TokenClient(Client):
    """A test client that sends one bearer token with every request."""

    def __init__(self, raw: str, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {raw}", **kwargs)
        self.raw = raw


def token_client(user, scopes=("read", "generate", "library"), team=None) -> TokenClient:
    _, raw = token_create(user=user, name="test", scopes=list(scopes), team=team)
    return TokenClient(raw)


@pytest.fixture
def alice_api(alice):
    return token_client(alice)


@pytest.fixture
def alice_reader(alice):
    return token_client(alice, scopes=["read"])


@pytest.fixture
def charlie_api(charlie):
    return token_client(charlie)


@pytest.fixture
def staff(db):
    return UserFactory(username="mod", is_staff=True)


@pytest.fixture
def team(alice, bob):
    team = Team.objects.create(name="Studio")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Membership.Role.EDITOR)
    return team


def png(width=64, height=64, colour=(10, 120, 200), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    PILImage.new(mode, (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def finished_job(owner, prompt="a lighthouse in fog", **fields) -> GenerationJob:
    fields.setdefault("provider", "openai")
    fields.setdefault("connection", "default")
    fields.setdefault("model", "dall-e-2")
    fields.setdefault("params", {"size": "256x256", "n": 1})
    return GenerationJob.objects.create(
        owner=owner, prompt=prompt, status=GenerationJob.Status.SUCCEEDED, **fields
    )


@pytest.fixture
def stored_image(s3):
    """An image as a finished job stores it: rows, original and thumbnail in S3."""

    def store(owner, prompt="a lighthouse in fog", **job_fields):
        job = finished_job(owner, prompt, **job_fields)
        return image_store(job=job, index=0, data=png(256, 256))

    return store


@pytest.fixture
def alices(alice, team, stored_image):
    """Alice's things: a job with its image, a collection holding it, a team, a
    Midjourney job with buttons, and an image shared with the team."""
    image = stored_image(alice, "a lighthouse in fog")
    collection = collection_create(user=alice, name="Coast")
    collection_add(user=alice, collection=collection, images=[image])
    shared = stored_image(alice, "a harbour for the team")
    image_share(user=alice, images=[shared], team=team)
    midjourney = finished_job(
        alice,
        "a kite over dunes",
        provider="midjourney",
        connection="fake-mj",
        model="midjourney",
        provider_task_id="task-1",
        provider_actions=[{"custom_id": "MJ::JOB::upsample::1::x", "label": "U1"}],
    )
    return SimpleNamespace(
        job=image.job,
        image=image,
        collection=collection,
        team=team,
        shared=shared,
        midjourney=midjourney,
    )
