"""Real services for the suite: PostgreSQL (pytest-django), an S3 server (moto),
the fake image provider over HTTP, and a real Celery worker process on Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from django.conf import settings
from moto.server import ThreadedMotoServer

from tests.factories import UserFactory
from tests.fake_provider import API_KEY, FakeImageProvider

ROOT = Path(__file__).resolve().parent.parent


def _require_service(host: str, port: int, name: str, how: str) -> None:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        pytest.exit(f"{name} is not reachable on {host}:{port}. Start it with: {how}", returncode=3)


def pytest_sessionstart(session):
    _require_service(
        "127.0.0.1",
        5432,
        "PostgreSQL",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    )
    _require_service(
        "127.0.0.1",
        6379,
        "Redis",
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''",
    )


@pytest.fixture(scope="session")
def s3_server():
    server = ThreadedMotoServer(
        ip_address="127.0.0.1", port=int(os.environ["ATELIER_TEST_S3_PORT"])
    )
    server.start()
    client = s3_client()
    client.create_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
    yield server
    server.stop()


def s3_client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3(s3_server):
    """A client for the S3 server; the bucket is emptied after each test."""
    client = s3_client()
    yield client
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])


@pytest.fixture(scope="session")
def fake_provider_server():
    provider = FakeImageProvider(port=int(os.environ["ATELIER_TEST_PROVIDER_PORT"])).start()
    yield provider
    provider.stop()


@pytest.fixture
def fake_provider(fake_provider_server):
    fake_provider_server.reset()
    return fake_provider_server


# The two stages as docker-compose.yml ships them (worker-io, worker-cpu), smaller.
IO_WORKER_CONCURRENCY = 50
IO_WORKER_ENV = {"DATABASE_CONN_MAX_AGE": "0", "DATABASE_POOL_MAX_SIZE": "4"}


def worker_commands(*, io_queue: str, cpu_queue: str, name: str, io_concurrency: int):
    """The I/O stage (gevent) and CPU stage (prefork) worker commands, with their extra
    environment, for a private queue pair: what docker-compose.yml runs."""
    common = ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    celery = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    return [
        (
            celery
            + ["-n", f"io-{name}", "-Q", io_queue, "-P", "gevent", "-c", str(io_concurrency)]
            + common,
            IO_WORKER_ENV,
        ),
        (celery + ["-n", f"cpu-{name}", "-Q", cpu_queue, "--concurrency", "2"] + common, {}),
    ]


class WorkerPair:
    """The two stage processes, one log (both append to it)."""

    def __init__(self, processes, log_path: Path):
        self.processes = processes
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.processes[0].pid

    def poll(self):
        return next((code for p in self.processes if (code := p.poll()) is not None), None)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, s3_server, fake_provider_server):
    """Real `celery worker` processes, one per stage, configured by environment like
    production: the I/O stage under gevent on the test queue, the CPU stage (prefork) on
    its ``.cpu`` queue."""
    from django.db import connection

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    db = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    name = f"atelier-test-{uuid.uuid4().hex[:8]}@%h"
    log_path = Path(settings.DATA_DIR) / "worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    log = open(log_path, "a")  # noqa: SIM115
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for command, extra in worker_commands(
            io_queue=settings.ATELIER_IO_QUEUE,
            cpu_queue=settings.ATELIER_CPU_QUEUE,
            name=name,
            io_concurrency=IO_WORKER_CONCURRENCY,
        )
    ]
    pair = WorkerPair(processes, log_path)
    deadline = time.time() + 60
    while log_path.read_text().count("ready.") < len(processes):
        if pair.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"Celery workers did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    yield pair
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    log.close()


@pytest.fixture
def worker(celery_worker_process, transactional_db, s3, fake_provider):
    """Tests that use the worker commit their data so that it can see them."""
    return celery_worker_process


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def charlie(db):
    return UserFactory(username="charlie")


@pytest.fixture
def fake_connections(db, fake_provider):
    """Chat-completion and Midjourney connections to the fake provider, added as an admin
    would (database rows), so a worker process sees them as well."""
    from jobs.connections import api_key_encrypt
    from jobs.models import ProviderConnection

    key = api_key_encrypt(API_KEY)
    ProviderConnection.objects.create(
        name="fake-chat",
        family="chat_completions",
        base_url=fake_provider.base_url,
        api_key_encrypted=key,
        model_names=["stable-diffusion-api", "gpt-4-all"],
        allowed_networks=["127.0.0.1/32"],
    )
    ProviderConnection.objects.create(
        name="fake-mj",
        family="midjourney",
        base_url=fake_provider.root_url,
        api_key_encrypted=key,
        model_names=["midjourney"],
        allowed_networks=["127.0.0.1/32"],
    )
    return fake_provider
