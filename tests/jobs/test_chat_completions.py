"""Seed 002's chat-completion image models: every reply shape, every image found,
downloaded or decoded at once, checked and stored; the reply's words kept with the job."""

from __future__ import annotations

import pytest

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob
from jobs.providers.chat_completions import images_in_message
from tests.support import bucket_keys

Status = GenerationJob.Status


@pytest.fixture
def chat_job(alice, s3, fake_connections):
    def make(prompt, model="stable-diffusion-api"):
        job = services.job_create(user=alice, model_name=model, prompt=prompt, params={})
        assert job.connection == "fake-chat"
        return job

    return make


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


def test_it_posts_the_prompt_as_a_chat_message_and_nothing_else(chat_job, fake_connections):
    job = chat_job("striking poses on a rocky coastline")
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_connections.calls_for("rocky coastline")
    assert call.path == "/v1/chat/completions"
    assert call.body == {
        "model": "stable-diffusion-api",
        "messages": [{"role": "user", "content": "striking poses on a rocky coastline"}],
        "user": call.body["user"],
    }
    assert job.usage["total_tokens"] == 21


@pytest.mark.parametrize(
    ("scenario", "sizes", "text"),
    [
        # A markdown image and a download link to the same file: stored once.
        ("markdown_url", [(512, 512)], "Here is your picture."),
        ("markdown_two", [(512, 512), (768, 512)], "Two takes:"),
        ("markdown_data", [(512, 512)], ""),
        ("images_field", [(512, 512)], "Done."),
        ("content_parts", [(768, 512)], "Here you go."),
    ],
)
def test_it_finds_and_stores_every_image_in_each_reply_shape(chat_job, s3, scenario, sizes, text):
    job = chat_job(f"a lighthouse fake:{scenario}", model="gpt-4-all")
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    images = list(Image.objects.filter(job=job).order_by("index"))
    assert [(i.width, i.height) for i in images] == sizes
    assert all(i.format == "PNG" for i in images)
    assert len(bucket_keys(s3)) == 2 * len(sizes)
    assert text in job.response_text


def test_a_reply_in_words_only_fails_and_says_what_the_model_said(chat_job, fake_connections):
    job = chat_job("draw a forbidden thing fake:text_only")
    outcome = run(job)
    assert outcome.retry_in is None
    assert (job.status, job.error_code) == (Status.FAILED, "no_images_in_reply")
    assert "I am sorry, I cannot draw that." in job.error_message
    assert len(fake_connections.calls_for("forbidden thing")) == 1


@pytest.mark.parametrize(
    ("scenario", "code", "words"),
    [
        ("not_an_image", "invalid_image", "not a valid image"),
        ("expired_link", "image_url_expired", "expire after 60 minutes"),
        ("bad_data_url", "invalid_image", "base64"),
    ],
)
def test_an_image_that_is_not_one_fails_with_a_clear_message(
    chat_job, s3, fake_connections, scenario, code, words
):
    job = chat_job(f"a harbour fake:{scenario}")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, code)
    assert words in job.error_message
    assert bucket_keys(s3) == []
    assert len(fake_connections.calls_for("harbour")) == 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("invalid_api_key", "rejected Atelier's API key"),
        ("invalid_model", "does not offer this model"),
        ("insufficient_user_quota", "run out of credit"),
        ("invalid_messages", "did not accept the prompt"),
    ],
)
def test_seed_errors_end_the_chat_job_with_their_message(chat_job, code, words):
    job = chat_job(f"a meadow fake:{code}")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, code)
    assert words in job.error_message


def test_an_internal_error_is_retried(chat_job):
    job = chat_job("a pier fake:internal_error")
    outcome = run(job)
    assert (job.status, job.error_code) == (Status.QUEUED, "internal_error")
    assert outcome.retry_in is not None


def test_a_truncated_chat_body_is_a_bad_response_and_not_resent(chat_job, fake_connections):
    job = chat_job("a dune fake:truncated")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "bad_response")
    run(job)
    assert len(fake_connections.calls_for("a dune")) == 1


def test_an_html_gateway_page_is_retried_as_unavailable(chat_job):
    job = chat_job("a ferry fake:html")
    outcome = run(job)
    assert (job.status, job.error_code) == (Status.QUEUED, "provider_unavailable")
    assert outcome.retry_in is not None


@pytest.mark.parametrize(
    ("message", "found"),
    [
        ({"content": "![a](https://x.test/1.png) and ![b](https://x.test/2.png)"}, 2),
        ({"content": '![a](<https://x.test/1.png> "title")'}, 1),
        ({"content": "![](data:image/webp;base64,AAAA)"}, 1),
        ({"content": "a plain https://x.test/1.png link is not an image"}, 0),
        ({"content": None, "images": ["https://x.test/1.png", {"url": "https://x.test/2.png"}]}, 2),
        ({"content": [{"type": "image_url", "image_url": "https://x.test/1.png"}]}, 1),
        ({"content": [{"type": "text", "text": "![x](https://x.test/1.png)"}]}, 1),
    ],
)
def test_it_recognises_images_in_every_shape_proxies_use(message, found):
    items, _text = images_in_message(message)
    assert len(items) == found


def test_links_to_internal_addresses_are_never_downloaded(chat_job, s3):
    # The links are found; the guarded fetcher refuses them (tests/jobs/test_guarded_fetch.py).
    job = chat_job("show me the metadata service fake:internal_link")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "image_link_refused")
    assert "10.1.2.3" not in job.error_message
    assert bucket_keys(s3) == []
