"""InsightFace swap_face through the Midjourney proxy: off unless an administrator enables
it per connection, both uploads judged like any other, every job a moderation event."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gallery.models import Image
from jobs.models import GenerationJob, ProviderConnection
from jobs.services import midjourney
from moderation.models import ModerationEvent
from tests.fake_provider import png_bytes

Status = GenerationJob.Status


def run(job):
    from jobs import services

    services.job_run(job_id=job.id)
    job.refresh_from_db()


def poll(job):
    GenerationJob.objects.filter(id=job.id).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    run(job)


def swap(alice, source=None, target=None):
    return midjourney.job_create_swap_face(
        user=alice,
        model_name="midjourney",
        source=source or png_bytes(64, 64, seed=1),
        target=target or png_bytes(96, 96, seed=2),
    )


def test_face_swaps_are_off_unless_an_administrator_enables_them(alice, s3, fake_connections):
    with pytest.raises(ValidationError) as error:
        swap(alice)
    assert "administrator must turn them on" in error.value.messages[0]
    assert not GenerationJob.objects.exists() and not ModerationEvent.objects.exists()


def test_an_enabled_swap_is_a_job_of_its_own_and_a_moderation_event(alice, s3, fake_connections):
    ProviderConnection.objects.filter(name="fake-mj").update(swap_face_enabled=True)
    job = swap(alice)
    assert job.kind == GenerationJob.Kind.SWAP_FACE and len(job.input_keys) == 2
    [event] = ModerationEvent.objects.filter(job=job)
    assert (event.user, event.code) == (alice, "swap_face")
    run(job)
    [submit] = [c for c in fake_connections.calls if c.path == "/mj/insight-face/swap"]
    assert submit.files["sourceBase64"][0]["size"] == (64, 64)
    assert submit.files["targetBase64"][0]["size"] == (96, 96)
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert Image.objects.filter(job=job).count() == 1


def test_swap_uploads_are_judged_like_every_other(alice, s3, fake_connections):
    ProviderConnection.objects.filter(name="fake-mj").update(swap_face_enabled=True)
    with pytest.raises(ValidationError) as error:
        swap(alice, source=b"<html>not a face</html>")
    assert error.value.message_dict["source"][0].startswith("SVG and HTML files are not accepted")
    assert not GenerationJob.objects.exists()
