"""Midjourney's task API (midjourney-proxy style) against the fake provider over HTTP.

A task is submitted once, then polled: each poll is a separate run of the job that
becomes due when its lease runs out, so no worker ever sleeps waiting for Midjourney.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from PIL import Image as PILImage

from gallery.models import Image
from jobs import services
from jobs.connections import connection_named
from jobs.models import GenerationJob, ProviderConnection
from jobs.providers.midjourney import MidjourneyClient
from tests.support import bucket_keys, wait_for_job

Status = GenerationJob.Status


def picture(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def imagine(alice, s3, fake_connections):
    def make(prompt):
        job = services.job_create(user=alice, model_name="midjourney", prompt=prompt, params={})
        assert job.connection == "fake-mj"
        return job

    return make


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


def due(job):
    """Let the next poll's time come, as the Celery countdown would."""
    GenerationJob.objects.filter(id=job.id).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


def poll(job):
    due(job)
    return run(job)


def mj_calls(provider, kind: str) -> list:
    return [c for c in provider.calls if kind in c.path]


def test_a_task_goes_submitted_in_progress_then_success_and_the_grid_is_stored(
    imagine, s3, fake_connections
):
    job = imagine("a castle in the clouds --ar 1:1")

    first = run(job)
    assert job.status == Status.RUNNING
    assert job.provider_task_id and job.progress == "Submitted"
    assert first.retry_in > 0
    [submit] = mj_calls(fake_connections, "/mj/submit/")
    assert submit.path == "/mj/submit/imagine"
    assert submit.body == {"prompt": "a castle in the clouds --ar 1:1", "base64Array": []}

    second = poll(job)
    assert (job.status, job.progress) == (Status.RUNNING, "40%")
    assert second.retry_in > 0

    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    image = Image.objects.get(job=job)
    assert (image.width, image.height) == (1024, 1024)
    assert image.original_key in bucket_keys(s3)
    labels = [a["label"] or a["emoji"] for a in job.provider_actions]
    # Vary (Region) and Custom Zoom belong to an upscaled image, not the grid.
    assert labels == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
    assert len(mj_calls(fake_connections, "/mj/submit/")) == 1
    assert len(mj_calls(fake_connections, "/fetch")) == 2


def test_a_poll_that_is_not_due_yet_does_nothing(imagine, fake_connections):
    job = imagine("a patient heron")
    run(job)
    run(job)  # the redelivered message arrives early: the lease still holds
    assert mj_calls(fake_connections, "/fetch") == []
    assert job.attempts == 1


def test_a_failed_task_ends_failed_with_midjourneys_reason(imagine, s3):
    job = imagine("a broken prompt fake:mj_fail")
    run(job)
    poll(job)
    assert job.progress == "40%"
    poll(job)
    assert (job.status, job.error_code) == (Status.FAILED, "mj_task_failed")
    assert "Unrecognized parameter(s): `--fast2`" in job.error_message
    assert bucket_keys(s3) == []


@pytest.mark.parametrize(
    ("code", "status", "error_code", "words"),
    [
        (23, Status.QUEUED, "mj_queue_full", "queue is full"),
        (24, Status.FAILED, "mj_banned_prompt", "banned"),
        (4, Status.FAILED, "mj_validation_error", "invalid"),
        (9, Status.QUEUED, "mj_failure", "failure on its side"),
        (7, Status.FAILED, "mj_submit_failed", "did not accept"),
    ],
)
def test_submit_result_codes_map_to_states_and_messages(
    imagine, fake_connections, code, status, error_code, words
):
    job = imagine(f"a tower fake:mj_code:{code}")
    run(job)
    assert (job.status, job.error_code) == (status, error_code)
    assert words in job.error_message
    assert job.provider_task_id == ""
    if status == Status.QUEUED:
        assert job.provider_request_sent_at is None  # not accepted, so safe to send again
    # A banned prompt is a refusal by the provider's safety system, as from the Images API.
    assert job.moderation_events.filter(source="provider").exists() == (code == 24)


@pytest.mark.parametrize("code", [21, 22])
def test_existing_and_queued_tasks_are_polled_like_new_ones(imagine, code):
    job = imagine(f"a quiet lake fake:mj_code:{code}")
    run(job)
    assert job.status == Status.RUNNING and job.provider_task_id
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message


def test_a_submitted_task_is_never_submitted_again(imagine, fake_connections, settings):
    job = imagine("a lantern festival")
    run(job)
    # Even past the attempt limit, a job with a task id only ever polls.
    GenerationJob.objects.filter(id=job.id).update(attempts=settings.ATELIER_JOB_MAX_ATTEMPTS + 5)
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert len(mj_calls(fake_connections, "/mj/submit/")) == 1


def test_a_submit_whose_task_id_was_lost_is_unknown_not_resent(imagine, fake_connections):
    job = imagine("a lost receipt")
    # A worker died after sending the submit and before recording the task id.
    GenerationJob.objects.filter(id=job.id).update(provider_request_sent_at=timezone.now())
    run(job)
    assert (job.status, job.error_code) == (Status.UNKNOWN, "worker_lost_unknown_outcome")
    assert mj_calls(fake_connections, "/mj/submit/") == []


def test_a_non_json_submit_answer_is_a_bad_response_and_not_resent(imagine, fake_connections):
    job = imagine("a garbled answer fake:mj_garbage")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "bad_response")
    run(job)
    assert len(mj_calls(fake_connections, "/mj/submit/")) == 1


def test_a_gateway_error_page_on_submit_is_retried(imagine):
    job = imagine("a busy gateway fake:mj_html")
    outcome = run(job)
    assert (job.status, job.error_code) == (Status.QUEUED, "provider_unavailable")
    assert outcome.retry_in is not None


def test_a_wrong_midjourney_key_is_reported_as_such(imagine):
    ProviderConnection.objects.filter(name="fake-mj").update(api_key_encrypted="")
    job = imagine("a locked door")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "invalid_api_key")


def test_a_button_makes_a_follow_up_job_that_submits_an_action(imagine, alice, fake_connections):
    job = imagine("a red kite over hills")
    run(job)
    poll(job)
    poll(job)
    u2 = next(a for a in job.provider_actions if a["label"] == "U2")

    child = services.job_create_midjourney_action(user=alice, job=job, custom_id=u2["custom_id"])
    assert child.parent == job and child.kind == GenerationJob.Kind.ACTION
    assert child.params == {
        "task_id": job.provider_task_id,
        "custom_id": u2["custom_id"],
        "label": "U2",
    }
    run(child)
    [action] = mj_calls(fake_connections, "/mj/submit/action")
    assert action.body == {"taskId": job.provider_task_id, "customId": u2["custom_id"]}
    poll(child)
    poll(child)
    assert child.status == Status.SUCCEEDED, child.error_message
    image = Image.objects.get(job=child)
    assert (image.width, image.height) == (512, 512)
    assert child.provider_actions[0]["label"] == "Upscale (Subtle)"


def test_a_button_the_task_does_not_offer_is_refused(imagine, alice):
    job = imagine("a still pond")
    run(job)
    with pytest.raises(ValidationError) as error:
        services.job_create_midjourney_action(user=alice, job=job, custom_id="MJ::JOB::x")
    assert error.value.message_dict == {"job": ["The Midjourney task has not finished yet."]}
    poll(job)
    poll(job)
    with pytest.raises(ValidationError) as error:
        services.job_create_midjourney_action(user=alice, job=job, custom_id="MJ::JOB::x")
    assert error.value.message_dict == {
        "custom_id": ["That button is not offered on this Midjourney image."]
    }


def test_cancelling_tells_midjourney_once_at_the_next_due_poll(imagine, fake_connections):
    job = imagine("a long ride fake:mj_slow")
    run(job)
    assert services.job_cancel(job=job)
    poll(job)
    poll(job)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    [cancel] = mj_calls(fake_connections, "/cancel")
    assert cancel.path == f"/mj/task/{job.provider_task_id}/cancel"
    assert fake_connections.mj_tasks[job.provider_task_id]["status"] == "CANCEL"


def test_a_task_that_never_finishes_times_out_and_is_cancelled(imagine, fake_connections):
    job = imagine("an endless wait fake:mj_slow")
    run(job)
    poll(job)
    assert job.progress == "40%"
    GenerationJob.objects.filter(id=job.id).update(
        provider_request_sent_at=timezone.now() - dt.timedelta(hours=1)
    )
    poll(job)
    assert (job.status, job.error_code) == (Status.FAILED, "mj_timeout")
    assert len(mj_calls(fake_connections, "/cancel")) == 1


def test_describe_keeps_midjourneys_suggested_prompts(alice, s3, fake_connections):
    job = services.job_create_describe(user=alice, model_name="midjourney", image=picture(64, 64))
    run(job)
    [submit] = mj_calls(fake_connections, "/mj/submit/describe")
    assert submit.body["base64"].startswith("data:image/png;base64,")
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert "a lighthouse on a cliff at dusk" in job.response_text
    assert not Image.objects.filter(job=job).exists()


def test_blend_sends_every_image(alice, s3, fake_connections):
    job = services.job_create_blend(
        user=alice, model_name="midjourney", images=[picture(64, 64), picture(48, 48)]
    )
    run(job)
    [submit] = mj_calls(fake_connections, "/mj/submit/blend")
    assert [f["size"] for f in submit.files["base64Array"]] == [(64, 64), (48, 48)]
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message


def test_blend_needs_two_to_five_images(alice, s3, fake_connections):
    with pytest.raises(ValidationError) as error:
        services.job_create_blend(user=alice, model_name="midjourney", images=[picture(8, 8)])
    assert error.value.message_dict["images"] == [
        "Midjourney takes between 2 and 5 images; you gave 1."
    ]


def test_list_by_condition_fetches_many_tasks_at_once(db, fake_connections):
    client = MidjourneyClient(connection_named("fake-mj"))
    first = client.imagine(prompt="one")
    second = client.imagine(prompt="two")
    tasks = client.list_by_condition([first.task_id, second.task_id])
    assert [(t.id, t.status, t.progress) for t in tasks] == [
        (first.task_id, "IN_PROGRESS", "40%"),
        (second.task_id, "IN_PROGRESS", "40%"),
    ]


def test_a_midjourney_task_runs_through_the_celery_worker(worker, alice, s3, fake_connections):
    job = services.job_create(
        user=alice, model_name="midjourney", prompt="a worker-polled comet", params={}
    )
    job = wait_for_job(job, timeout=60)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert len(mj_calls(fake_connections, "/mj/submit/")) == 1
    assert len(mj_calls(fake_connections, "/fetch")) == 2
    assert Image.objects.filter(job=job).count() == 1
    assert job.attempts == 1  # polls are not provider attempts


def test_a_task_midjourney_forgot_ends_unknown(imagine, fake_connections):
    job = imagine("a forgotten dream")
    run(job)
    fake_connections.mj_tasks.clear()  # the proxy restarted and lost its tasks
    poll(job)
    assert (job.status, job.error_code) == (Status.UNKNOWN, "mj_task_lost")
    assert "cannot tell whether it finished" in job.error_message
    assert len(mj_calls(fake_connections, "/mj/submit/")) == 1


def finished(imagine, prompt):
    job = imagine(prompt)
    run(job)
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    return job


def upscaled(imagine, alice, prompt):
    """An upscale (U1) of a finished grid: the image whose buttons open modals."""
    grid = finished(imagine, prompt)
    u1 = next(a for a in grid.provider_actions if a["label"] == "U1")
    job = services.job_create_midjourney_action(user=alice, job=grid, custom_id=u1["custom_id"])
    run(job)
    poll(job)
    poll(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    return job


def test_a_button_that_opens_a_modal_is_confirmed_once_then_polled(
    imagine, alice, fake_connections
):
    job = upscaled(imagine, alice, "a harbour at night")
    zoom = next(a for a in job.provider_actions if a["label"] == "Custom Zoom")
    child = services.job_create_midjourney_action(user=alice, job=job, custom_id=zoom["custom_id"])

    run(child)  # the action answers 21: its task waits in a modal
    action = mj_calls(fake_connections, "/mj/submit/action")[-1]
    assert action.status == 200
    assert fake_connections.mj_tasks[child.provider_task_id]["status"] == "MODAL"
    assert child.status == Status.RUNNING and child.provider_modal_sent_at is None

    poll(child)  # the poll sees MODAL and confirms it with the prompt
    [modal] = mj_calls(fake_connections, "/mj/submit/modal")
    assert modal.body == {"taskId": child.provider_task_id, "prompt": job.prompt}
    assert child.provider_modal_sent_at is not None
    assert (child.status, child.progress) == (Status.RUNNING, "Confirmed")

    poll(child)
    assert child.progress == "40%"
    poll(child)
    assert child.status == Status.SUCCEEDED, child.error_message
    assert Image.objects.filter(job=child).count() == 1
    assert len(mj_calls(fake_connections, "/mj/submit/modal")) == 1
    assert len(mj_calls(fake_connections, "/mj/submit/action")) == 2  # U1, then Custom Zoom


def test_a_modal_already_confirmed_is_never_confirmed_again(imagine, alice, fake_connections):
    job = upscaled(imagine, alice, "a quiet bay")
    zoom = next(a for a in job.provider_actions if a["label"] == "Custom Zoom")
    child = services.job_create_midjourney_action(user=alice, job=job, custom_id=zoom["custom_id"])
    run(child)
    # A worker marked the confirmation sent and died before the proxy saw it.
    GenerationJob.objects.filter(id=child.id).update(provider_modal_sent_at=timezone.now())
    poll(child)
    poll(child)
    assert (child.status, child.progress) == (Status.RUNNING, "Confirming")
    assert mj_calls(fake_connections, "/mj/submit/modal") == []
    GenerationJob.objects.filter(id=child.id).update(
        provider_request_sent_at=timezone.now() - dt.timedelta(hours=1)
    )
    poll(child)
    assert (child.status, child.error_code) == (Status.FAILED, "mj_timeout")
    assert fake_connections.mj_tasks[child.provider_task_id]["status"] == "CANCEL"


def test_a_modal_the_proxy_refuses_fails_the_job_with_its_reason(
    imagine, alice, fake_connections, monkeypatch
):
    job = upscaled(imagine, alice, "a stormy cape")
    zoom = next(a for a in job.provider_actions if a["label"] == "Custom Zoom")
    child = services.job_create_midjourney_action(user=alice, job=job, custom_id=zoom["custom_id"])
    run(child)
    confirm = MidjourneyClient.modal

    def after_the_window_closed(self, *, task_id, prompt, **kwargs):
        fake_connections.mj_tasks[task_id]["status"] = "FAILURE"
        return confirm(self, task_id=task_id, prompt=prompt, **kwargs)

    monkeypatch.setattr(MidjourneyClient, "modal", after_the_window_closed)
    poll(child)
    assert (child.status, child.error_code) == (Status.FAILED, "mj_validation_error")
    assert child.error_message == (
        "Midjourney rejected the request as invalid (code 4). "
        "The provider said: code 4: 任务状态错误"
    )
    assert len(mj_calls(fake_connections, "/mj/submit/modal")) == 1


def test_cancelling_a_running_task_cancels_it_at_midjourney_at_once(imagine, fake_connections):
    job = imagine("a very long ride fake:mj_slow")
    run(job)
    assert services.job_cancel(job=job)
    [cancel] = mj_calls(fake_connections, "/cancel")
    assert cancel.path == f"/mj/task/{job.provider_task_id}/cancel"
    assert fake_connections.mj_tasks[job.provider_task_id]["status"] == "CANCEL"
    poll(job)  # the poll that was due still arrives, and says nothing more
    assert job.status == Status.CANCELLED
    assert len(mj_calls(fake_connections, "/cancel")) == 1


def test_a_cancel_midjourney_does_not_answer_is_logged_and_the_job_still_cancelled(
    imagine, fake_connections, caplog
):
    job = imagine("an unreachable ride fake:mj_slow")
    run(job)
    ProviderConnection.objects.filter(name="fake-mj").update(base_url="http://127.0.0.1:9")
    assert services.job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert "midjourney cancel failed: connection_error" in caplog.text
    assert mj_calls(fake_connections, "/cancel") == []
    # The poll that was due tries once more, now that the proxy is back.
    ProviderConnection.objects.filter(name="fake-mj").update(base_url=fake_connections.root_url)
    poll(job)
    assert len(mj_calls(fake_connections, "/cancel")) == 1
    assert job.status == Status.CANCELLED
