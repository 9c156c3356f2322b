"""Streamed chat replies (seed 002's ``stream: true``) against the fake provider: asked for
only when the connection allows it, parsed into the same images as a whole reply, progress
lines told in order and onto the job row, and every way a stream can go wrong ending the
job without sending the request again."""

from __future__ import annotations

import re
import time

import pytest
from django.test import override_settings

from gallery.models import Image
from jobs import services
from jobs.connections import connection_named
from jobs.models import GenerationJob, ProviderConnection
from jobs.providers.chat_completions import ChatCompletionsProvider, sse_data
from jobs.registry import get_model
from jobs.services.progress import ProgressNotes
from jobs.services.state import _claim

Status = GenerationJob.Status
PROGRESS = ["排队中…", "生成中 45%", "生成中 100%"]


def streaming(on: bool) -> None:
    ProviderConnection.objects.filter(name="fake-chat").update(stream_replies=on)


@pytest.fixture
def chat_job(alice, s3, fake_connections):
    def make(prompt, model="stable-diffusion-api"):
        return services.job_create(user=alice, model_name=model, prompt=prompt, params={})

    return make


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


def generate(prompt, on_progress=None):
    return ChatCompletionsProvider().generate(
        connection=connection_named("fake-chat"),
        spec=get_model("gpt-4-all"),
        prompt=prompt,
        params={},
        user_ref="u1",
        on_progress=on_progress,
    )


def test_without_the_connections_leave_nothing_is_streamed(chat_job, fake_connections):
    job = chat_job("a quay at dawn")
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    [call] = fake_connections.calls_for("quay at dawn")
    assert "stream" not in call.body
    assert job.progress == ""


def test_a_streamed_reply_tells_its_progress_lines_in_order(fake_connections):
    streaming(True)
    seen: list[str] = []
    result = generate("a lighthouse", on_progress=seen.append)
    [call] = fake_connections.calls_for("a lighthouse")
    assert call.body["stream"] is True
    # Each line arrived in two pieces; only whole lines are told, each once, and the words
    # before the image, never the link.
    assert seen == [*PROGRESS, "Here is your picture."]
    assert [bool(item["url"]) for item in result.items] == [True]
    assert result.usage["total_tokens"] == 21
    assert result.text.startswith("> 排队中…")


@pytest.mark.parametrize(
    "scenario", ["markdown_url", "markdown_two", "markdown_data", "images_field", "content_parts"]
)
def test_a_streamed_reply_stores_the_same_images_as_a_whole_one(chat_job, s3, scenario):
    whole = chat_job(f"a pier fake:{scenario}", model="gpt-4-all")
    run(whole)
    streaming(True)
    streamed = chat_job(f"a pier again fake:{scenario}", model="gpt-4-all")
    run(streamed)
    assert (whole.status, streamed.status) == (Status.SUCCEEDED, Status.SUCCEEDED)

    def stored(job):
        return [
            (i.width, i.height, i.format, i.sha256)
            for i in Image.objects.filter(job=job).order_by("index")
        ]

    assert stored(streamed) == stored(whole) != []
    # The same words (each reply links its own copy), after the stream's progress lines.

    def words(job):
        return re.sub(r"/files/[A-Za-z0-9_-]+\.png", "/files/….png", job.response_text)

    assert words(streamed).endswith(words(whole))
    assert streamed.usage == whole.usage


def test_a_proxy_that_ignores_stream_is_read_as_a_whole_reply(chat_job, fake_connections):
    streaming(True)
    job = chat_job("a mole fake:stream_ignored")
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert fake_connections.calls_for("a mole")[0].body["stream"] is True
    assert Image.objects.filter(job=job).count() == 1


def test_a_stream_cut_midway_is_unknown_and_never_sent_again(chat_job, fake_connections, s3):
    streaming(True)
    job = chat_job("a causeway fake:stream_cut")
    outcome = run(job)
    assert (job.status, job.error_code) == (Status.UNKNOWN, "timeout_unknown_outcome")
    assert outcome.retry_in is None
    run(job)  # a redelivered message finds it finished
    assert len(fake_connections.calls_for("a causeway")) == 1
    assert not Image.objects.filter(job=job).exists()


def test_a_stream_gone_silent_ends_at_its_idle_timeout(chat_job, fake_connections):
    streaming(True)
    job = chat_job("a jetty fake:stream_stall")
    started = time.monotonic()
    with override_settings(ATELIER_CHAT_STREAM_IDLE_TIMEOUT=1):
        run(job)
    assert (job.status, job.error_code) == (Status.UNKNOWN, "timeout_unknown_outcome")
    assert time.monotonic() - started < 8  # the fake stays silent for 30 s
    assert len(fake_connections.calls_for("a jetty")) == 1


def test_a_stream_that_never_ends_stops_at_the_provider_deadline(chat_job, fake_connections):
    streaming(True)
    job = chat_job("a breakwater fake:stream_trickle")
    started = time.monotonic()
    # A line every 0.3 s never trips the idle timeout; the whole reply's deadline ends it.
    with override_settings(ATELIER_CHAT_STREAM_IDLE_TIMEOUT=1, ATELIER_PROVIDER_TIMEOUT=2):
        run(job)
    elapsed = time.monotonic() - started
    assert (job.status, job.error_code) == (Status.UNKNOWN, "timeout_unknown_outcome")
    assert 2 <= elapsed < 8, elapsed  # the fake would go on for a minute
    assert len(fake_connections.calls_for("a breakwater")) == 1


def test_an_error_inside_the_stream_keeps_its_code(chat_job, fake_connections):
    streaming(True)
    job = chat_job("a slipway fake:stream_error")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "content_policy_violation")
    assert len(fake_connections.calls_for("a slipway")) == 1


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        ("invalid_api_key", Status.FAILED, "invalid_api_key"),
        ("insufficient_user_quota", Status.FAILED, "insufficient_user_quota"),
        ("internal_error", Status.QUEUED, "internal_error"),
        ("html", Status.QUEUED, "provider_unavailable"),
        ("truncated", Status.FAILED, "bad_response"),
        ("text_only", Status.FAILED, "no_images_in_reply"),
    ],
)
def test_errors_before_or_instead_of_a_stream_map_as_without_one(chat_job, scenario, status, code):
    for on in (False, True):
        streaming(on)
        job = chat_job(f"a weir {on} fake:{scenario}")
        run(job)
        assert (job.status, job.error_code) == (status, code), (on, job.error_message)


@pytest.mark.parametrize("on", [False, True])
def test_a_reply_larger_than_the_cap_is_refused_streamed_or_not(chat_job, fake_connections, on):
    streaming(on)
    job = chat_job(f"an estuary {on} fake:many_links:60")
    with override_settings(ATELIER_MAX_IMAGE_BYTES=1024):  # replies capped at 2 KiB
        run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "bad_response")
    assert not Image.objects.filter(job=job).exists()
    assert len(fake_connections.calls_for("an estuary")) == 1


def test_progress_notes_reach_the_row_at_most_once_a_second(chat_job):
    job = chat_job("a lock keeper")
    token = _claim(job.id)
    notes = ProgressNotes(job, token, every=0.3)

    def progress():
        return GenerationJob.objects.get(id=job.id).progress

    notes("排队中…")
    assert progress() == "排队中…"
    notes("生成中 10%")  # too soon: passed over
    assert progress() == "排队中…"
    time.sleep(0.35)
    notes("生成中 45%")
    assert progress() == "生成中 45%"
    time.sleep(0.35)
    notes("x" * 200)  # cut to the column
    assert progress() == "x" * 64
    GenerationJob.objects.filter(id=job.id).update(status=Status.CANCELLED)
    time.sleep(0.35)
    notes("生成中 90%")  # a cancelled job is not written to
    assert progress() == "x" * 64


def test_the_event_reader_joins_lines_across_chunks_and_skips_comments():
    body = [
        b": keep-alive\r\n\r\nevent: message\r\nid: 1\r\nda",
        b'ta: {"a":\r\ndata: 1}\r\n\r\n',
        b"data: [DONE]",  # the last event without its blank line
    ]
    events = list(sse_data(iter(body), limit=1000, deadline=time.monotonic() + 5))
    assert events == ['{"a":\n1}', "[DONE]"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_writes_progress_while_the_reply_streams(worker, alice, fake_connections):
    streaming(True)
    fake_connections.chat_stream_delay = 1.2
    job = services.job_create(
        user=alice, model_name="stable-diffusion-api", prompt="a canal", params={}
    )
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if not seen or seen[-1] != (job.status, job.progress):
            seen.append((job.status, job.progress))
        if job.is_finished:
            break
        time.sleep(0.1)
    assert job.status == Status.SUCCEEDED, (job.error_message, seen)
    running = [text for status, text in seen if status == Status.RUNNING and text]
    # 1.2 s apart, every line passes the once-a-second limit, in the order streamed.
    assert running[:3] == PROGRESS, seen
    assert Image.objects.filter(job=job).count() == 1
