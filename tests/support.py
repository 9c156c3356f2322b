"""Helpers shared by tests."""

from __future__ import annotations

import time

from django.conf import settings


def wait_for_job(job, *, timeout: float = 30.0):
    """Poll the database until the job reaches a terminal state."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job.id} still {job.status} after {timeout}s: {job.error_message}")


def bucket_keys(client) -> list[str]:
    response = client.list_objects_v2(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
    return sorted(item["Key"] for item in response.get("Contents", []))


def broker_silenced(monkeypatch) -> list:
    """Tests that drive job runs themselves keep the suite's live worker out of them: what
    would be sent to the broker is recorded instead."""
    from jobs import tasks

    sent: list = []
    for task in (tasks.run_generation_job, tasks.store_generation_job, tasks.store_partial_image):
        monkeypatch.setattr(
            task, "apply_async", lambda *args, _name=task.name, **kwargs: sent.append(_name)
        )
    return sent
