"""Metrics after one job succeeds and one fails, with two real worker processes.

Each worker serves its own metrics port (multiprocess mode over its pool); web's /metrics
reads the database and the broker. Both must add up to whole numbers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs import services
from jobs.models import GenerationJob
from jobs.tasks import run_generation_job
from tests.support import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def samples(text: str, name: str) -> dict[tuple, float]:
    """{sorted label items: value} for one sample name."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def start_worker(queue: str, index: int, tmp_path: Path):
    from django.db import connection

    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "ATELIER_WORKER_METRICS_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{index}"),
        "ATELIER_METRICS_TOKEN": TOKEN,
        "ATELIER_LOG_FORMAT": "json",
        # Both stages' queues are this worker's own (the CPU stage's is "<queue>.cpu").
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    log_path = tmp_path / f"worker-{index}.log"
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-n",
         f"ops-{index}-{uuid.uuid4().hex[:6]}@%h", "-Q", f"{queue},{queue}.cpu",
         "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    process.metrics_port, process.log_path, process.log = port, log_path, log
    return process


def wait_ready(process) -> None:
    deadline = time.time() + 60
    while "ready." not in process.log_path.read_text():
        if process.poll() is not None or time.time() > deadline:
            raise RuntimeError(process.log_path.read_text()[-3000:])
        time.sleep(0.2)


def stop(process) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    process.log.close()


@pytest.fixture
def two_workers(transactional_db, s3, fake_provider, tmp_path, monkeypatch):
    # Their own queue, so that no other worker of the suite takes these jobs.
    queue = f"atelier-ops-{uuid.uuid4().hex[:8]}"
    task = run_generation_job._get_current_object()
    monkeypatch.setattr(task, "queue", queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None)
    workers = [start_worker(queue, index, tmp_path) for index in (1, 2)]
    try:
        for process in workers:
            wait_ready(process)
        yield workers
    finally:
        for process in workers:
            stop(process)


def scrape(port: int, token: str = TOKEN) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )


def test_metrics_add_up_across_two_workers_after_one_success_and_one_failure(
    two_workers, alice, client, settings
):
    ok = services.job_create(user=alice, model_name="dall-e-3", prompt="a fox", params={})
    bad = services.job_create(
        user=alice, model_name="dall-e-3", prompt="a castle fake:insufficient_user_quota", params={}
    )
    ok, bad = wait_for_job(ok), wait_for_job(bad)
    assert ok.status == GenerationJob.Status.SUCCEEDED, ok.error_message
    assert bad.status == GenerationJob.Status.FAILED
    assert bad.error_code

    # Web: figures from the database and the broker.
    settings.ATELIER_METRICS_TOKEN = TOKEN
    web = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert web.status_code == 200
    text = web.content.decode()
    jobs = samples(text, "atelier_jobs")
    assert jobs[(("model", "dall-e-3"), ("state", "succeeded"))] == 1
    assert jobs[(("model", "dall-e-3"), ("state", "failed"))] == 1
    assert samples(text, "atelier_images_stored") == {(): 1}
    spend = samples(text, "atelier_spend_usd")
    assert spend == {(("connection", ok.connection), ("model", "dall-e-3")): float(ok.cost_usd)}
    assert float(ok.cost_usd) > 0
    assert samples(text, "atelier_provider_calls_in_flight") == {}
    assert (
        samples(text, "atelier_queue_depth")[(("queue", settings.CELERY_TASK_DEFAULT_QUEUE),)] == 0
    )
    assert samples(text, "atelier_broker_up") == {(): 1}

    # Workers: each serves its own pool's events; together they saw both requests.
    scrapes = [scrape(worker.metrics_port) for worker in two_workers]
    assert [response.status_code for response in scrapes] == [200, 200]
    texts = [response.text for response in scrapes]
    code_key = (("code", bad.error_code), ("connection", bad.connection), ("model", "dall-e-3"))
    errors = [samples(t, "atelier_provider_errors_total").get(code_key, 0) for t in texts]
    assert sum(errors) == 1
    requests = [
        samples(t, "atelier_provider_request_duration_seconds_count").get(
            (("connection", ok.connection), ("model", "dall-e-3")), 0
        )
        for t in texts
    ]
    assert sum(requests) == 2

    # The worker that logged the failed job's transition is the one that counted its error.
    def transitions(worker) -> list[dict]:
        lines = []
        for line in worker.log_path.read_text().splitlines():
            if line.startswith("{") and '"job_id"' in line:
                lines.append(json.loads(line))
        return lines

    ran_bad = [
        i for i, w in enumerate(two_workers)
        if any(t["job_id"] == str(bad.id) and t["status"] == "failed" for t in transitions(w))
    ]  # fmt: skip
    assert len(ran_bad) == 1
    assert errors[ran_bad[0]] == 1

    # One JSON line per transition, with what an operator needs.
    everything = transitions(two_workers[0]) + transitions(two_workers[1])
    done = next(t for t in everything if t["job_id"] == str(ok.id) and t["status"] == "succeeded")
    assert done["model"] == "dall-e-3"
    assert done["connection"] == ok.connection
    assert done["outcome"] == "succeeded"
    assert done["duration_s"] >= 0
    failed = next(t for t in everything if t["job_id"] == str(bad.id) and t["status"] == "failed")
    assert failed["outcome"] == bad.error_code
    assert sorted(t["status"] for t in everything if t["job_id"] == str(ok.id)) == [
        "running",
        "succeeded",
    ]


def test_a_worker_metrics_port_wants_the_token(two_workers):
    port = two_workers[0].metrics_port
    assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 401
    assert scrape(port, token="wrong").status_code == 401
    assert scrape(port).status_code == 200


def test_queue_depth_counts_messages_waiting_in_the_broker(client, settings):
    from config.celery import app

    queue = f"atelier-ops-depth-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_ROUTES = {"ops.nothing": {"queue": queue}}
    settings.ATELIER_METRICS_TOKEN = TOKEN
    for _ in range(3):
        app.send_task("ops.nothing", queue=queue)
    try:
        text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        assert samples(text, "atelier_queue_depth")[(("queue", queue),)] == 3
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
