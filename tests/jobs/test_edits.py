"""Edits, variations and streamed partial images against the fake provider over HTTP.

Uploads are checked before anything is stored or sent; what reaches the provider is
read back from the fake's log (multipart fields, image sizes, the mask's alpha).
"""

from __future__ import annotations

import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from gallery.models import Image
from gallery.services import image_store
from jobs import services
from jobs.admission import JobRefused
from jobs.models import GenerationJob
from tests.support import bucket_keys, wait_for_job

Status = GenerationJob.Status


def picture(width: int, height: int, *, fmt: str = "PNG", mode: str = "RGB", hole=False) -> bytes:
    image = PILImage.new(mode, (width, height), (30, 120, 200) + ((255,) if mode == "RGBA" else ()))
    if hole:  # a fully transparent square in the middle: "edit here"
        box = (width // 4, height // 4, 3 * width // 4, 3 * height // 4)
        image.paste((0, 0, 0, 0), box)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def mask(width: int, height: int) -> bytes:
    return picture(width, height, mode="RGBA", hole=True)


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


def refused(**kwargs) -> dict:
    with pytest.raises(ValidationError) as error:
        services.job_create_edit(**kwargs)
    return error.value.message_dict


@pytest.fixture
def edit(alice, s3, fake_provider):
    def make(prompt="a flamingo in the pool", model="dall-e-2", params=None, **inputs):
        return services.job_create_edit(
            user=alice, model_name=model, prompt=prompt, params=params or {}, **inputs
        )

    return make


def test_it_sends_a_dall_e_2_edit_with_its_mask_and_stores_the_result(edit, s3, fake_provider):
    job = edit(
        "a sunlit lounge with a flamingo",
        params={"size": "512x512"},
        images=[picture(512, 512)],
        mask=mask(512, 512),
    )
    assert job.kind == GenerationJob.Kind.EDIT
    assert job.input_keys == [f"inputs/{job.id}/0.png"]
    assert job.mask_key == f"inputs/{job.id}/mask.png"

    run(job)

    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("flamingo")
    assert call.path == "/v1/images/edits"
    assert call.body["model"] == "dall-e-2"
    assert call.body["response_format"] == "b64_json"
    assert call.body["size"] == "512x512"
    [sent_mask] = call.files["mask"]
    assert sent_mask["size"] == (512, 512)
    assert sent_mask["mode"] == "RGBA" and sent_mask["transparent_pixels"] == 256 * 256
    assert call.files["image"][0]["size"] == (512, 512)
    image = Image.objects.get(job=job)
    assert (image.width, image.height) == (512, 512)
    assert image.original_key in bucket_keys(s3)


def test_it_enqueues_an_edit_only_after_commit(alice, s3, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.job_create_edit(
            user=alice,
            model_name="gpt-image-1.5",
            prompt="add a hat",
            params={},
            images=[picture(64, 64)],
        )
    assert len(callbacks) == 1


def test_a_mask_of_another_size_is_refused_before_anything_is_sent(alice, s3, fake_provider):
    errors = refused(
        user=alice,
        model_name="dall-e-2",
        prompt="a flamingo",
        params={},
        images=[picture(512, 512)],
        mask=mask(256, 256),
    )
    assert errors == {
        "mask": ["The mask is 256x256 but the image is 512x512; they must be the same size."]
    }
    assert GenerationJob.objects.count() == 0
    assert fake_provider.calls == [] and bucket_keys(s3) == []


@pytest.mark.parametrize(
    ("model", "inputs", "field", "message"),
    [
        (
            "dall-e-2",
            {"images": [picture(512, 384)], "mask": mask(512, 384)},
            "images",
            "DALL·E 2 needs a square image; this one is 512x384.",
        ),
        (
            "dall-e-2",
            {"images": [picture(256, 256, fmt="JPEG")], "mask": mask(256, 256)},
            "images",
            "only PNG is accepted here",
        ),
        (
            "dall-e-2",
            {"images": [picture(256, 256)]},
            "images",
            "Without a mask, DALL·E 2 edits the image's transparent areas and this image has "
            "none. Add a mask, or upload a PNG with transparency.",
        ),
        (
            "dall-e-2",
            {"images": [picture(256, 256), picture(256, 256)]},
            "images",
            "DALL·E 2 takes exactly one image here; you gave 2.",
        ),
        (
            "dall-e-2",
            {"images": [picture(256, 256)], "mask": picture(256, 256)},
            "mask",
            "The mask needs an alpha channel: its fully transparent areas mark where to edit.",
        ),
        (
            "dall-e-2",
            {"images": [picture(256, 256)], "mask": picture(256, 256, fmt="WEBP", mode="RGBA")},
            "mask",
            "The mask must be a PNG under 4 MB.",
        ),
        ("gpt-image-1.5", {}, "images", "Upload an image, or pick one from your gallery."),
        (
            "gpt-image-1.5",
            {"images": [picture(32, 32)] * 17},
            "images",
            "GPT Image 1.5 takes between 1 and 16 images; you gave 17.",
        ),
        (
            "gpt-image-1.5",
            {"images": [picture(32, 32, fmt="GIF", mode="P")]},
            "images",
            "only PNG, JPEG, WEBP is accepted here",
        ),
        (
            "dall-e-3",
            {"images": [picture(32, 32)]},
            "model",
            "DALL·E 3 cannot edit images.",
        ),
    ],
)
def test_uploads_a_model_would_reject_are_refused_with_a_clear_message(
    alice, s3, fake_provider, model, inputs, field, message
):
    errors = refused(user=alice, model_name=model, prompt="a flamingo", params={}, **inputs)
    assert any(message in text for text in errors[field]), errors
    assert fake_provider.calls == [] and bucket_keys(s3) == []


def test_a_dall_e_2_image_over_4_mb_is_refused(alice, s3):
    noise = PILImage.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    assert buffer.tell() > 4 * 1024 * 1024
    errors = refused(
        user=alice,
        model_name="dall-e-2",
        prompt="a flamingo",
        params={},
        images=[buffer.getvalue()],
        mask=mask(1200, 1200),
    )
    assert "the limit is 4 MB" in errors["images"][0]


def test_gpt_image_edits_take_several_formats_and_input_fidelity(edit, fake_provider):
    job = edit(
        "put the three pets on one sofa",
        model="gpt-image-1.5",
        params={"input_fidelity": "high", "quality": "low"},
        images=[
            picture(64, 64),
            picture(80, 60, fmt="JPEG"),
            picture(40, 40, fmt="WEBP"),
        ],
    )
    assert [key.rsplit(".", 1)[1] for key in job.input_keys] == ["png", "jpg", "webp"]
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("three pets")
    assert [f["format"] for f in call.files["image"]] == ["PNG", "JPEG", "WEBP"]
    assert call.body["input_fidelity"] == "high"
    assert "response_format" not in call.body and "mask" not in call.files


def test_input_fidelity_is_refused_where_the_model_has_none(alice, s3):
    errors = refused(
        user=alice,
        model_name="gpt-image-2",
        prompt="p",
        params={"input_fidelity": "low"},
        images=[picture(32, 32)],
    )
    assert errors["input_fidelity"] == ["GPT Image 2 does not take a input fidelity."]


def test_it_edits_a_gallery_image_the_caller_chose(alice, s3, fake_provider):
    earlier = GenerationJob.objects.create(
        owner=alice, provider="demo", connection="demo", model="demo", prompt="p", params={}
    )
    source = image_store(job=earlier, index=0, data=picture(96, 64))
    job = services.job_create_edit(
        user=alice,
        model_name="gpt-image-1.5",
        prompt="make it night",
        params={},
        source_image=source,
    )
    assert job.source_image == source
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("make it night")
    assert call.files["image"][0]["size"] == (96, 64)


def test_an_upload_gone_from_storage_fails_without_calling_the_provider(edit, fake_provider):
    job = edit("a vanished flamingo", model="gpt-image-1.5", images=[picture(32, 32)])
    default_storage.delete(job.input_keys[0])
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "input_unavailable")
    assert "Upload it again" in job.error_message
    assert fake_provider.calls_for("vanished") == []


def test_an_inactive_user_is_refused_an_edit(alice, s3):
    alice.is_active = False
    alice.save()
    with pytest.raises(JobRefused):
        services.job_create_edit(
            user=alice,
            model_name="gpt-image-1.5",
            prompt="p",
            params={},
            images=[picture(32, 32)],
        )
    assert GenerationJob.objects.count() == 0


# -- variations -------------------------------------------------------------------------


def test_it_makes_dall_e_2_variations(alice, s3, fake_provider):
    job = services.job_create_variation(
        user=alice, model_name="dall-e-2", params={"n": 2, "size": "256x256"}, image=picture(64, 64)
    )
    assert job.kind == GenerationJob.Kind.VARIATION and job.prompt == ""
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = [c for c in fake_provider.calls if c.path == "/v1/images/variations"]
    assert call.body["n"] == "2" and call.body["size"] == "256x256"
    assert call.body["response_format"] == "b64_json"
    assert "prompt" not in call.body
    assert Image.objects.filter(job=job).count() == 2


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("gpt-image-1.5", "GPT Image 1.5 cannot make variations of an image."),
        ("dall-e-3", "DALL·E 3 cannot make variations of an image."),
    ],
)
def test_variations_only_where_the_model_makes_them(alice, s3, model, message):
    with pytest.raises(ValidationError) as error:
        services.job_create_variation(
            user=alice, model_name=model, params={}, image=picture(64, 64)
        )
    assert error.value.message_dict["model"] == [message]


def test_a_variation_needs_a_square_png(alice, s3):
    with pytest.raises(ValidationError) as error:
        services.job_create_variation(
            user=alice, model_name="dall-e-2", params={}, image=picture(64, 32)
        )
    assert error.value.message_dict["images"] == [
        "DALL·E 2 needs a square image; this one is 64x32."
    ]


# -- partial images ---------------------------------------------------------------------


@pytest.fixture
def partials_seen(monkeypatch):
    """The job's preview key as the database held it right after each partial arrived."""
    seen = []
    from jobs.services import run

    original = run._partial_store

    def spy(job, token, index, data, output_format):
        original(job, token, index, data, output_format)
        seen.append(GenerationJob.objects.get(id=job.id).partial_image_key)

    monkeypatch.setattr(run, "_partial_store", spy)
    return seen


def test_it_relays_each_partial_image_then_the_final_one_replaces_it(
    alice, s3, fake_provider, partials_seen
):
    job = services.job_create(
        user=alice,
        model_name="gpt-image-1.5",
        prompt="a tram at dawn, streamed",
        params={"partial_images": 2, "size": "1024x1024"},
    )
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("streamed")
    assert call.body["stream"] is True and call.body["partial_images"] == 2
    assert partials_seen == [f"partials/{job.id}/0.png", f"partials/{job.id}/1.png"]
    assert job.partial_image_key == ""
    assert [k for k in bucket_keys(s3) if k.startswith("partials/")] == []
    assert Image.objects.filter(job=job).count() == 1
    assert job.usage["total_tokens"] == 4210


def test_a_stream_cut_before_the_final_image_keeps_the_preview_and_is_not_resent(
    alice, s3, fake_provider, partials_seen
):
    job = services.job_create(
        user=alice,
        model_name="gpt-image-1.5",
        prompt="a cut stream fake:stream_cut",
        params={"partial_images": 1},
    )
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "bad_response")
    assert job.partial_image_key == f"partials/{job.id}/0.png"
    assert job.partial_image_key in bucket_keys(s3)
    run(job)
    assert len(fake_provider.calls_for("cut stream")) == 1


def test_edits_stream_partial_images_too(alice, s3, fake_provider, partials_seen):
    job = services.job_create_edit(
        user=alice,
        model_name="gpt-image-1.5",
        prompt="a streamed edit",
        params={"partial_images": 1},
        images=[picture(64, 64)],
    )
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert partials_seen == [f"partials/{job.id}/0.png"]
    [call] = fake_provider.calls_for("streamed edit")
    assert call.body["stream"] == "true" and call.body["partial_images"] == "1"


# -- through the real worker ------------------------------------------------------------


def test_an_edit_runs_through_the_celery_worker(worker, alice, s3, fake_provider):
    job = services.job_create_edit(
        user=alice,
        model_name="dall-e-2",
        prompt="a worker-made flamingo",
        params={"size": "256x256"},
        images=[picture(256, 256)],
        mask=mask(256, 256),
    )
    job = wait_for_job(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_provider.calls_for("worker-made flamingo")
    assert call.files["mask"][0]["transparent_pixels"] == 128 * 128
    assert Image.objects.filter(job=job).count() == 1


def test_a_model_that_cannot_edit_gets_one_clear_error_not_upload_noise(alice, s3):
    errors = refused(
        user=alice, model_name="dall-e-3", prompt="p", params={}, images=[picture(32, 32)]
    )
    assert errors == {"model": ["DALL·E 3 cannot edit images."]}
