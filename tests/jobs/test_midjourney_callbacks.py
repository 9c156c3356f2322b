"""Midjourney's callbacks (notifyHook) against the fake proxy, which POSTs each task change
to Atelier's live server; polls stay as the safety net, and many tasks are fetched at once.

Each test drives the job's runs itself (as the Celery countdowns would) so that what a
callback did, and what a poll did, can be told apart in the fake's call log.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.models import Image
from jobs import services
from jobs.models import GenerationJob, ProviderAnswer
from tests.support import broker_silenced

Status = GenerationJob.Status
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _runs_driven_here(monkeypatch):
    """These tests run each job themselves; the suite's live worker must not claim them."""
    broker_silenced(monkeypatch)


@pytest.fixture
def hooked(settings, live_server, fake_connections, s3):
    """Atelier reachable at the live server: submits carry a callback URL."""
    settings.ATELIER_PUBLIC_URL = live_server.url
    settings.ATELIER_MIDJOURNEY_CALLBACK_POLL_SECONDS = 30
    return fake_connections


@pytest.fixture
def imagine(alice, hooked):
    def make(prompt="a lantern over still water"):
        return services.job_create(user=alice, model_name="midjourney", prompt=prompt, params={})

    return make


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


def due(job):
    GenerationJob.objects.filter(id=job.id).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


def calls(provider, part: str) -> list:
    return [c for c in provider.calls if part in c.path]


def wait_until(predicate, timeout: float = 10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def hook_url(job) -> str:
    return reverse("jobs:midjourney_hook", args=[job.id, job.provider_callback_secret])


def test_it_submits_with_a_callback_url_carrying_a_secret_of_the_job(imagine, hooked, live_server):
    job = imagine()
    outcome = run(job)
    assert len(job.provider_callback_secret) >= 32
    [submit] = calls(hooked, "/mj/submit/imagine")
    assert submit.body["notifyHook"] == f"{live_server.url}{hook_url(job)}"
    assert submit.body["state"] == str(job.id)
    # Callbacks are on: the safety poll comes much later than the first poll would.
    assert outcome.retry_in >= 0.8 * 30


def test_without_a_public_address_it_only_polls(alice, fake_connections, s3, settings):
    settings.ATELIER_PUBLIC_URL = ""
    job = services.job_create(user=alice, model_name="midjourney", prompt="a moth", params={})
    outcome = run(job)
    [submit] = calls(fake_connections, "/mj/submit/imagine")
    assert "notifyHook" not in submit.body and job.provider_callback_secret == ""
    assert outcome.retry_in <= 2


def test_callbacks_carry_the_task_to_success_without_a_single_poll(imagine, hooked):
    hooked.mj_step_seconds = 0.2
    job = imagine()
    run(job)
    # The proxy moves on by itself and calls back: 40%, then SUCCESS with the grid.
    wait_until(lambda: ProviderAnswer.objects.filter(job_id=job.id).exists())
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.lease_expires_at <= timezone.now()
    assert [c["status"] for c in hooked.mj_callbacks_sent] == ["IN_PROGRESS", "SUCCESS"]
    assert {c["_answered"] for c in hooked.mj_callbacks_sent} == {204}
    run(job)  # the worker run the callback enqueued: it stores the kept answer
    assert job.status == Status.SUCCEEDED, job.error_message
    assert Image.objects.filter(job=job).count() == 1
    assert [a["label"] for a in job.provider_actions][:4] == ["U1", "U2", "U3", "U4"]
    assert calls(hooked, "/fetch") == [] and calls(hooked, "list-by-condition") == []
    assert len(calls(hooked, "/mj/submit/")) == 1


def test_a_repeated_or_late_callback_changes_nothing(imagine, hooked):
    hooked.mj_step_seconds = 0.2
    job = imagine()
    run(job)
    wait_until(lambda: ProviderAnswer.objects.filter(job_id=job.id).exists())
    task_id = job.provider_task_id
    # The same SUCCESS again, then a late IN_PROGRESS, before the answer is stored ...
    assert hooked.mj_callback_to(task_id) == 204
    assert hooked.mj_callback_to(task_id, status="IN_PROGRESS", progress="40%") == 204
    job.refresh_from_db()
    assert job.provider_task_state["status"] == "SUCCESS"
    assert ProviderAnswer.objects.filter(job_id=job.id).count() == 1
    run(job)
    # ... and after it.
    assert hooked.mj_callback_to(task_id, status="IN_PROGRESS", progress="40%") == 204
    assert hooked.mj_callback_to(task_id) == 204
    job.refresh_from_db()
    assert (job.status, job.progress) == (Status.SUCCEEDED, "")
    assert Image.objects.filter(job=job).count() == 1


def test_an_out_of_order_progress_callback_does_not_move_the_job_back(imagine, hooked):
    job = imagine()
    run(job)
    task_id = job.provider_task_id
    assert hooked.mj_callback_to(task_id, status="IN_PROGRESS", progress="80%") == 204
    job.refresh_from_db()
    assert job.progress == "80%"
    assert hooked.mj_callback_to(task_id, status="IN_PROGRESS", progress="40%") == 204
    job.refresh_from_db()
    assert (job.progress, job.provider_task_state["progress"]) == ("80%", "80%")
    assert calls(hooked, "/fetch") == []


def test_a_callback_for_a_cancelled_job_changes_nothing(imagine, hooked):
    job = imagine()
    run(job)
    assert services.job_cancel(job=job)
    hooked.mj_tasks[job.provider_task_id]["status"] = "IN_PROGRESS"  # the proxy missed it
    assert hooked.mj_callback_to(job.provider_task_id, status="SUCCESS", imageUrl="x") == 204
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert not ProviderAnswer.objects.filter(job_id=job.id).exists()


def test_a_callback_with_a_wrong_secret_or_job_is_404_and_changes_nothing(
    imagine, hooked, live_server, alice, client
):
    job = imagine()
    run(job)
    task_id = job.provider_task_id
    wrong = reverse("jobs:midjourney_hook", args=[job.id, "x" * 32])
    assert hooked.mj_callback_to(task_id, hook=live_server.url + wrong, status="FAILURE") == 404
    other = services.job_create(user=alice, model_name="midjourney", prompt="b", params={})
    stranger = reverse("jobs:midjourney_hook", args=[other.id, job.provider_callback_secret])
    assert hooked.mj_callback_to(task_id, hook=live_server.url + stranger) == 404
    assert client.get(hook_url(job)).status_code == 405
    job.refresh_from_db()
    assert (job.status, job.provider_task_state.get("status")) == (Status.RUNNING, None)


def test_a_callback_that_overtakes_the_submits_answer_records_the_task(imagine, hooked):
    hooked.mj_callback_first = True
    job = imagine()
    run(job)
    [early] = hooked.mj_callbacks_sent
    assert early["_answered"] == 204
    # The callback found the job mid-submit, without a task id: it recorded both.
    assert job.provider_task_id == early["id"]
    assert job.provider_task_state["id"] == early["id"]
    assert job.status == Status.RUNNING and job.progress == "Submitted"


def test_a_final_callback_that_finds_the_job_held_is_taken_when_it_parks(imagine, hooked):
    job = imagine()
    run(job)
    GenerationJob.objects.filter(id=job.id).update(claim_token=None)
    # A poll holds the job (its claim) while the SUCCESS callback arrives.
    token = services.midjourney._claim_parked(job.id)
    hooked.mj_tasks[job.provider_task_id]["_fetches"] = 1
    hooked._mj_advance(hooked.mj_tasks[job.provider_task_id])
    assert hooked.mj_callback_to(job.provider_task_id) == 204
    job.refresh_from_db()
    assert not ProviderAnswer.objects.filter(job_id=job.id).exists()
    outcome = services.midjourney._midjourney_wait(job, token, progress="40%")
    assert outcome.retry_in == 0.0  # due at once
    run(job)
    assert ProviderAnswer.objects.filter(job_id=job.id).exists()
    assert calls(hooked, "/fetch") == []  # the callback said it all


def test_many_due_tasks_are_fetched_in_one_list_by_condition(alice, fake_connections, s3):
    jobs = [
        services.job_create(user=alice, model_name="midjourney", prompt=f"a kite {i}", params={})
        for i in range(3)
    ]
    for job in jobs:
        run(job)
    for job in jobs:
        due(job)
    run(jobs[0])
    assert calls(fake_connections, "list-by-condition"), [c.path for c in fake_connections.calls]
    [batch] = calls(fake_connections, "list-by-condition")
    assert sorted(batch.body["ids"]) == sorted(j.provider_task_id for j in jobs)
    assert calls(fake_connections, "/fetch") == []
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.progress) == (Status.RUNNING, "40%")
    # Each sibling's own poll message now finds it parked and not due: nothing is fetched.
    run(jobs[1])
    run(jobs[2])
    assert len(calls(fake_connections, "list-by-condition")) == 1
