"""One log line per job transition, also for those made outside a worker."""

import datetime as dt
import json
import logging

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import GenerationJob
from ops.logformat import JsonFormatter
from tests.factories import GenerationJobFactory

pytestmark = pytest.mark.django_db


def transitions(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "atelier.jobs" and hasattr(r, "job_id")]


def test_a_cancel_logs_its_transition(alice, caplog):
    job = GenerationJobFactory(owner=alice, prompt="a lighthouse", params={})
    with caplog.at_level(logging.INFO, logger="atelier.jobs"):
        assert services.job_cancel(job=job)
    (record,) = transitions(caplog)
    assert record.job_id == str(job.id)
    assert (record.from_status, record.status, record.outcome) == (
        "queued",
        "cancelled",
        "cancelled",
    )
    assert (record.model, record.connection) == ("dall-e-3", "openai")


def test_a_job_past_its_deadline_logs_its_failure_with_the_code(alice, caplog, settings):
    job = GenerationJobFactory(owner=alice, prompt="a lighthouse", params={})
    GenerationJob.objects.filter(id=job.id).update(
        created_at=timezone.now() - dt.timedelta(seconds=settings.ATELIER_JOB_DEADLINE_SECONDS + 60)
    )
    with caplog.at_level(logging.INFO, logger="atelier.jobs"):
        services.jobs_reap()
    (record,) = transitions(caplog)
    assert (record.status, record.outcome) == ("failed", "deadline_exceeded")
    assert record.duration_s > settings.ATELIER_JOB_DEADLINE_SECONDS


def test_json_lines_carry_the_transition_fields(alice, caplog):
    job = GenerationJobFactory(owner=alice, prompt="a lighthouse", params={})
    with caplog.at_level(logging.INFO, logger="atelier.jobs"):
        services.job_cancel(job=job)
    (record,) = transitions(caplog)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO"
    assert line["job_id"] == str(job.id)
    assert {"model", "connection", "duration_s", "outcome", "status"} <= set(line)
    assert f"job {job.id} queued→cancelled" in line["message"]
