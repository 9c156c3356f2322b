"""Images, teams and collections for gallery tests.

``make_image`` writes rows only (fast, for search and paging); ``stored_image``
goes through ``image_store`` into the S3 server, for downloads and deletes.
"""

import io
import itertools

import pytest
from PIL import Image as PILImage

from gallery.models import Image
from gallery.services import image_store, search_terms_add
from jobs.models import GenerationJob
from teams.models import Membership, Team

_counter = itertools.count()


def png(width=64, height=64, colour=(10, 120, 200)):
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _job(owner, prompt, model="gpt-image-1", params=None):
    return GenerationJob.objects.create(
        owner=owner,
        provider="openai",
        connection="default",
        model=model,
        prompt=prompt,
        params=params if params is not None else {"size": "1024x1024", "quality": "high"},
        status=GenerationJob.Status.SUCCEEDED,
        usage={"total_tokens": 1234},
    )


@pytest.fixture
def make_image(db):
    def make(owner, prompt="a quiet harbour at dawn", **fields):
        job = _job(owner, prompt, model=fields.pop("model", "gpt-image-1"))
        n = next(_counter)
        fields.setdefault("width", 1024)
        fields.setdefault("height", 1024)
        image = Image.objects.create(
            owner=owner,
            job=job,
            index=0,
            original_key=f"originals/{job.id}/0.png",
            thumbnail_key=f"thumbnails/{job.id}/0.webp",
            format="PNG",
            bytes=1000 + n,
            sha256=f"{n:064x}",
            prompt=prompt,
            **fields,
        )
        search_terms_add(texts=[prompt, fields.get("revised_prompt", "")])
        return image

    return make


@pytest.fixture
def stored_image(s3):
    def store(owner, prompt="alice's secret garden", colour=(10, 120, 200)):
        return image_store(job=_job(owner, prompt), index=0, data=png(colour=colour))

    return store


@pytest.fixture
def team(alice, bob):
    """Alice owns the team; Bob is a viewer unless a test promotes him."""
    team = Team.objects.create(name="Studio North")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Membership.Role.VIEWER)
    return team


@pytest.fixture
def bob_edits(team, bob):
    Membership.objects.filter(team=team, user=bob).update(role=Membership.Role.EDITOR)
    return bob
