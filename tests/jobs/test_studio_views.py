"""The studio's views: remix, retry, cancel, prompt history, partial previews, edits.

alice owns the work; charlie is a stranger who must learn nothing from its ids.
"""

import io

import factory
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image as PILImage

from gallery.models import Image
from gallery.services import image_store
from jobs import services
from jobs.models import GenerationJob
from jobs.selectors import variation_model
from tests.factories import GenerationJobFactory, ImageFactory
from tests.fake_provider import png_bytes

Status = GenerationJob.Status


class StudioJobFactory(GenerationJobFactory):
    """The studio's usual job: a DALL·E 3 landscape in HD."""

    params = factory.LazyFunction(
        lambda: {"size": "1792x1024", "n": 1, "quality": "hd", "style": "natural"}
    )


@pytest.fixture
def alices_image(alice):
    return ImageFactory(job=StudioJobFactory(owner=alice, status=Status.SUCCEEDED))


# -- remix --------------------------------------------------------------------


def test_it_prefills_the_studio_from_an_image(client, alice, alices_image):
    client.force_login(alice)
    response = client.get(reverse("jobs:studio"), {"remix": alices_image.id})
    assert response.status_code == 200
    form = response.context["form"]
    assert form["model"].value() == "dall-e-3"
    assert form["prompt"].value() == "a lighthouse in fog"
    assert (form["size"].value(), form["quality"].value(), form["style"].value()) == (
        "1792x1024",
        "hd",
        "natural",
    )
    assert 'value="1792x1024"' in response.content.decode()


def test_it_prefills_the_studio_from_a_job(client, alice):
    job = StudioJobFactory(owner=alice, status=Status.FAILED, prompt="a heron at dawn")
    client.force_login(alice)
    response = client.get(reverse("jobs:studio"), {"job": job.id})
    assert response.context["form"]["prompt"].value() == "a heron at dawn"
    assert "a heron at dawn</textarea>" in response.content.decode()


def test_charlie_gets_404_remixing_alices_image(client, charlie, alices_image):
    client.force_login(charlie)
    assert client.get(reverse("jobs:studio"), {"remix": alices_image.id}).status_code == 404


def test_charlie_gets_404_reusing_alices_job(client, alice, charlie):
    job = StudioJobFactory(owner=alice)
    client.force_login(charlie)
    assert client.get(reverse("jobs:studio"), {"job": job.id}).status_code == 404


def test_it_answers_404_for_a_malformed_remix(client, alice):
    client.force_login(alice)
    assert client.get(reverse("jobs:studio"), {"remix": "x"}).status_code == 404
    assert client.get(reverse("jobs:studio"), {"job": "not-a-uuid"}).status_code == 404


# -- retry and cancel ---------------------------------------------------------


def test_it_retries_a_failed_job_as_a_new_job_pointing_back(
    client, alice, django_capture_on_commit_callbacks
):
    failed = StudioJobFactory(
        owner=alice, status=Status.FAILED, error_message="The provider is down."
    )
    client.force_login(alice)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("jobs:job_retry", args=[failed.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 201
    retry = GenerationJob.objects.exclude(id=failed.id).get()
    assert (retry.parent, retry.model, retry.prompt) == (failed, "dall-e-3", failed.prompt)
    assert retry.params == failed.params
    assert retry.status == Status.QUEUED
    assert f'id="job-{retry.id}"' in response.content.decode()
    assert "job-created" in response["HX-Trigger"]  # the prompt history refreshes
    assert len(callbacks) == 1


def test_it_refuses_to_retry_a_job_that_has_not_finished(client, alice):
    running = StudioJobFactory(owner=alice, status=Status.RUNNING)
    client.force_login(alice)
    response = client.post(reverse("jobs:job_retry", args=[running.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert response["HX-Retarget"] == f"#job-{running.id}"
    assert "This job has not finished yet." in response.content.decode()
    assert GenerationJob.objects.count() == 1


def test_charlie_gets_404_retrying_alices_job(client, alice, charlie):
    failed = StudioJobFactory(owner=alice, status=Status.FAILED)
    client.force_login(charlie)
    assert client.post(reverse("jobs:job_retry", args=[failed.id])).status_code == 404
    assert GenerationJob.objects.count() == 1


def test_charlie_gets_404_for_alices_job_card_and_cancel(client, alice, charlie):
    job = StudioJobFactory(owner=alice)
    client.force_login(charlie)
    assert client.get(reverse("jobs:job_card", args=[job.id])).status_code == 404
    assert client.post(reverse("jobs:job_cancel", args=[job.id])).status_code == 404
    job.refresh_from_db()
    assert job.status == Status.QUEUED


def test_a_cancelled_card_offers_retry_instead_of_cancel(client, alice):
    job = StudioJobFactory(owner=alice, status=Status.RUNNING)
    client.force_login(alice)
    response = client.post(reverse("jobs:job_cancel", args=[job.id]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'data-status="cancelled"' in body
    assert reverse("jobs:job_retry", args=[job.id]) in body
    assert reverse("jobs:job_cancel", args=[job.id]) not in body
    assert "every 1s" not in body


# -- partial previews ----------------------------------------------------------


def test_it_shows_the_latest_partial_image_of_a_running_job(client, alice):
    job = StudioJobFactory(
        owner=alice, status=Status.RUNNING, partial_image_key=f"partials/{'a' * 8}/1.png"
    )
    client.force_login(alice)
    card = client.get(reverse("jobs:job_card", args=[job.id])).content.decode()
    assert reverse("jobs:job_partial_image", args=[job.id]) in card
    response = client.get(reverse("jobs:job_partial_image", args=[job.id]))
    assert response.status_code == 302
    assert "partials/aaaaaaaa/1.png" in response["Location"]
    assert "Signature=" in response["Location"]


def test_the_final_images_replace_the_partial(client, alice):
    job = StudioJobFactory(
        owner=alice, status=Status.SUCCEEDED, partial_image_key="partials/x/2.png"
    )
    image = ImageFactory(job=job)
    client.force_login(alice)
    card = client.get(reverse("jobs:job_card", args=[job.id])).content.decode()
    assert reverse("jobs:job_partial_image", args=[job.id]) not in card
    assert reverse("gallery:thumbnail", args=[image.id]) in card


def test_charlie_gets_404_for_alices_partial_image(client, alice, charlie):
    job = StudioJobFactory(owner=alice, status=Status.RUNNING, partial_image_key="partials/x/0.png")
    client.force_login(charlie)
    assert client.get(reverse("jobs:job_partial_image", args=[job.id])).status_code == 404


def test_it_answers_404_while_there_is_no_partial_image(client, alice):
    job = StudioJobFactory(owner=alice, status=Status.RUNNING)
    client.force_login(alice)
    assert client.get(reverse("jobs:job_partial_image", args=[job.id])).status_code == 404


# -- prompt history -------------------------------------------------------------


def test_it_lists_each_recent_prompt_once_newest_first_and_searches_them(
    client, alice, charlie, django_assert_num_queries
):
    for prompt in ["a red kite", "a blue whale", "a red kite", "a green field"]:
        StudioJobFactory(owner=alice, prompt=prompt)
    StudioJobFactory(owner=charlie, prompt="charlie's red secret")
    client.force_login(alice)
    with django_assert_num_queries(3):  # session, user, prompts
        response = client.get(reverse("jobs:prompt_history"))
    assert response.context["history"] == ["a green field", "a red kite", "a blue whale"]
    response = client.get(reverse("jobs:prompt_history"), {"q": "RED"})
    assert response.context["history"] == ["a red kite"]
    assert 'data-prompt="a red kite"' in response.content.decode()


# -- form errors ----------------------------------------------------------------


def test_it_puts_validation_errors_back_into_the_form_for_htmx(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:studio"),
        {"model": "dall-e-3", "prompt": "a cat", "size": "1x1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#generate-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert "DALL·E 3 supports these sizes: 1024x1024, 1792x1024, 1024x1792." in (
        response.content.decode()
    )


# -- edits and variations ------------------------------------------------------


def test_charlie_gets_404_for_the_editor_and_variations_of_alices_image(
    client, charlie, alices_image
):
    client.force_login(charlie)
    assert client.get(reverse("jobs:image_edit", args=[alices_image.id])).status_code == 404
    assert client.post(reverse("jobs:image_edit", args=[alices_image.id])).status_code == 404
    assert client.post(reverse("jobs:image_variations", args=[alices_image.id])).status_code == 404
    assert GenerationJob.objects.count() == 1


def test_it_opens_the_mask_editor_at_the_images_size(client, alice, alices_image):
    client.force_login(alice)
    response = client.get(
        reverse("jobs:image_edit", args=[alices_image.id]), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="mask-canvas" width="1024" height="1024"' in body
    models = [value for value, _ in response.context["form"].fields["model"].choices]
    assert "dall-e-2" in models and "gpt-image-1.5" in models and "dall-e-3" not in models


@pytest.fixture
def stored_image(alice, s3):
    """One of alice's images, really in storage: edits and variations read its bytes."""
    job = StudioJobFactory(
        owner=alice, status=Status.SUCCEEDED, model="gpt-image-1.5", params={"n": 1}
    )
    return image_store(job=job, index=0, data=png_bytes(256, 256))


def mask_png(width: int, height: int, hole: tuple[int, int, int, int]) -> bytes:
    mask = PILImage.new("RGBA", (width, height), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), hole)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def test_it_submits_a_masked_edit_of_an_image(
    client, alice, stored_image, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    mask = SimpleUploadedFile("mask.png", mask_png(256, 256, (64, 64, 192, 192)), "image/png")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("jobs:image_edit", args=[stored_image.id]),
            {"model": "gpt-image-1.5", "prompt": "add a red door", "mask": mask},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 201, response.content.decode()
    edit = GenerationJob.objects.get(kind=GenerationJob.Kind.EDIT)
    assert (edit.source_image, edit.prompt, edit.owner) == (stored_image, "add a red door", alice)
    assert edit.mask_key
    assert len(callbacks) == 1


def test_it_shows_the_services_mask_error_in_the_edit_form(client, alice, stored_image):
    client.force_login(alice)
    mask = SimpleUploadedFile("mask.png", mask_png(128, 128, (0, 0, 64, 64)), "image/png")
    response = client.post(
        reverse("jobs:image_edit", args=[stored_image.id]),
        {"model": "gpt-image-1.5", "prompt": "add a red door", "mask": mask},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#edit-form"
    [message] = response.context["form"].errors["mask"]
    assert "128x128" in message and "256x256" in message
    assert message in response.content.decode()
    assert not GenerationJob.objects.filter(kind=GenerationJob.Kind.EDIT).exists()


def test_it_makes_variations_of_an_image_with_one_click(client, alice, stored_image):
    client.force_login(alice)
    response = client.post(
        reverse("jobs:image_variations", args=[stored_image.id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 201, response.content.decode()
    variation = GenerationJob.objects.get(kind=GenerationJob.Kind.VARIATION)
    assert variation.model == variation_model().name
    assert variation.source_image == stored_image
    assert f'id="job-{variation.id}"' in response.content.decode()


def test_it_retries_a_failed_edit_with_the_same_image_and_mask(client, alice, stored_image):
    mask = mask_png(256, 256, (0, 0, 100, 100))
    failed = services.job_create_edit(
        user=alice,
        model_name="gpt-image-1.5",
        prompt="a red door",
        params={},
        source_image=stored_image,
        mask=mask,
    )
    GenerationJob.objects.filter(id=failed.id).update(status=Status.FAILED)
    client.force_login(alice)
    response = client.post(reverse("jobs:job_retry", args=[failed.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 201, response.content.decode()
    retry = GenerationJob.objects.get(parent=failed)
    assert (retry.kind, retry.model, retry.prompt) == ("edit", "gpt-image-1.5", "a red door")
    assert retry.source_image == stored_image
    assert retry.mask_key and retry.mask_key != failed.mask_key
    with default_storage.open(retry.mask_key) as stored:
        assert stored.read() == mask
    assert len(retry.input_keys) == len(failed.input_keys) == 1


def test_the_studio_lists_jobs_with_a_constant_number_of_queries(
    client, alice, django_assert_num_queries
):
    client.force_login(alice)
    ImageFactory(job=StudioJobFactory(owner=alice, status=Status.SUCCEEDED))
    with CaptureQueriesContext(connection) as one_job:
        assert client.get(reverse("jobs:studio")).status_code == 200
    for _ in range(4):
        ImageFactory(job=StudioJobFactory(owner=alice, status=Status.SUCCEEDED, prompt="another"))
    with django_assert_num_queries(len(one_job.captured_queries)):
        response = client.get(reverse("jobs:studio"))
    assert len(response.context["jobs"]) == 5


def test_a_hidden_image_vanishes_from_its_owners_studio_card(client, alice, alices_image):
    client.force_login(alice)
    link = f"/gallery/images/{alices_image.id}/"
    card_url = reverse("jobs:job_card", args=[alices_image.job_id])
    assert link in client.get(card_url).content.decode()
    Image.objects.filter(id=alices_image.id).update(is_hidden=True, hidden_reason="spam")
    assert link not in client.get(card_url).content.decode()
    assert link not in client.get(reverse("jobs:studio")).content.decode()
