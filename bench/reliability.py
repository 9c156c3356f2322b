#!/usr/bin/env python
"""Fault drills: real worker processes, Redis, PostgreSQL, an S3 server and the fake provider.

Each drill submits jobs, injects one fault (kill -9 of either stage's worker, a Redis restart,
an S3 outage, a storm of provider errors, a duplicated message, a burst), waits
until every job is terminal, and counts from the provider's own call log and the
bucket's objects what was lost or stored twice.

    .venv/bin/python bench/reliability.py                 # every drill, full size
    .venv/bin/python bench/reliability.py --quick --json out.json
    .venv/bin/python bench/reliability.py --write-docs    # refresh docs/reliability.md

It needs PostgreSQL on 127.0.0.1:5432 and a `redis-server` binary; it starts its own
Redis on a free port (so restarting it disturbs nothing else) and its own database.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, up: bool = True, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not come {'up' if up else 'down'}")


@dataclass
class DrillResult:
    fault: str
    jobs: int
    succeeded: int
    failed: dict  # error code -> count, for failed and unknown jobs
    unknown: int
    lost: int
    duplicates: int
    paid_calls_per_job: list  # distinct counts of successful provider answers per job
    provider_calls: int
    seconds: float
    notes: str = ""


class Lab:
    """Private services for the drills, configured through the environment like production."""

    def __init__(self, *, quick: bool):
        self.quick = quick
        self.tmp = Path(tempfile.mkdtemp(prefix="atelier-faults-"))
        self.redis_port = free_port()
        self.s3_port = free_port()
        self.db_name = f"atelier_faults_{uuid.uuid4().hex[:8]}"
        self.redis: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DJANGO_SECRET_KEY": "fault-drills-" + uuid.uuid4().hex + uuid.uuid4().hex,
                "DJANGO_DEBUG": "0",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{self.db_name}",
                "DATABASE_CONN_MAX_AGE": "0",
                "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "CELERY_TASK_DEFAULT_QUEUE": "faults",
                "AWS_STORAGE_BUCKET_NAME": "atelier-faults",
                "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "ATELIER_OPENAI_MODELS": "dall-e-2,dall-e-3,gpt-image-1.5",
                "ATELIER_PROVIDER_TIMEOUT": "3",
                "ATELIER_DOWNLOAD_TIMEOUT": "10",
                # The fake provider's image links are on loopback, refused unless listed.
                "ATELIER_OPENAI_ALLOWED_NETWORKS": "127.0.0.1/32",
                # Short leases and staleness so the reaper acts within seconds, not minutes.
                "ATELIER_JOB_LEASE_SECONDS": "6",
                "ATELIER_QUEUED_STALE_SECONDS": "10",
                "ATELIER_DATA_DIR": str(self.tmp),
                # The drills measure the pipeline, not the abuse controls in front of it.
                "ATELIER_RATE_LIMIT_JOBS_PER_MINUTE": "1000000",
                "ATELIER_DEFAULT_DAILY_IMAGES": "1000000",
                "ATELIER_DEFAULT_MONTHLY_SPEND_USD": "1000000",
            }
        )

    # -- services ----------------------------------------------------------------
    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        from tests.fake_provider import API_KEY, FakeImageProvider

        self.provider = FakeImageProvider().start()
        os.environ["OPENAI_BASE_URL"] = self.provider.base_url
        os.environ["OPENAI_API_KEY"] = API_KEY
        self.start_redis()
        self.s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=self.s3_port)
        self.s3.start()
        wait_for_port(self.s3_port)

        import django

        django.setup()
        self._create_database()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.s3_client().create_bucket(Bucket="atelier-faults")

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{self.db_name}"')

    def close(self) -> None:
        for worker in list(self.workers):
            self.kill_worker(worker)
        self.stop_redis()
        self.s3.stop()
        self.provider.stop()
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def s3_client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=os.environ["AWS_S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.redis_port)

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait()
            self.redis = None
            wait_for_port(self.redis_port, up=False)

    def s3_down(self) -> None:
        self.s3.stop()
        wait_for_port(self.s3_port, up=False)

    def s3_up(self) -> None:
        from moto.server import ThreadedMotoServer

        # moto keeps its state in this process, so the bucket survives the outage.
        self.s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=self.s3_port)
        self.s3.start()
        wait_for_port(self.s3_port)

    def start_stage(
        self, stage: str, *, concurrency: int = 2, env: dict | None = None
    ) -> subprocess.Popen:
        """One stage's worker, as docker-compose.yml runs it: the I/O stage under gevent with
        no persistent database connection and a small pool, the CPU stage prefork."""
        log_path = self.tmp / f"worker-{stage}-{len(self.workers)}-{uuid.uuid4().hex[:6]}.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed with the process
        env = {**os.environ, **(env or {})}
        if stage == "io":
            queue, pool = "faults", ["-P", "gevent", "-c", str(concurrency)]
            env.update(DATABASE_CONN_MAX_AGE="0", DATABASE_POOL_MAX_SIZE="4")
        else:
            queue, pool = "faults.cpu", ["--concurrency", str(concurrency)]
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queue,
                "-n",
                f"drill-{stage}-{uuid.uuid4().hex[:6]}@%h",
                *pool,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker.log_path = log_path
        worker.stage = stage
        deadline = time.time() + 60
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        self.workers.append(worker)
        return worker

    def start_worker(
        self, *, concurrency: int = 2, cpu_concurrency: int = 2
    ) -> tuple[subprocess.Popen, subprocess.Popen]:
        """Both stages: (I/O worker with ``concurrency`` greenlets, CPU worker)."""
        return (
            self.start_stage("io", concurrency=concurrency),
            self.start_stage("cpu", concurrency=cpu_concurrency),
        )

    def db_connections(self) -> int:
        """Connections the workers hold to the drill's database right now (this process's
        own excluded)."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.db_name],
            )
            return cursor.fetchone()[0]

    def kill_worker(self, worker: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(worker.pid, sig)
        except ProcessLookupError:
            pass
        worker.wait()
        self.workers.remove(worker)

    # -- jobs ----------------------------------------------------------------------
    def user(self):
        from django.contrib.auth import get_user_model

        user, _ = get_user_model().objects.get_or_create(username="drill")
        return user

    def submit(
        self,
        label: str,
        prompts: list[str],
        *,
        model: str = "dall-e-2",
        size: str = "256x256",
        n: int = 1,
    ) -> list:
        from django.db import transaction

        from jobs.services import job_create

        jobs = []
        for prompt in prompts:
            with transaction.atomic():
                jobs.append(
                    job_create(
                        user=self.user(),
                        model_name=model,
                        prompt=f"{prompt} [{label}-{uuid.uuid4().hex[:10]}]",
                        params={"size": size, "n": n},
                    )
                )
        return jobs

    def wait_until_calls(self, marker: str, count: int, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while len(self.provider.calls_for(marker)) < count:
            if time.time() > deadline:
                raise RuntimeError(f"provider saw {len(self.provider.calls_for(marker))} calls")
            time.sleep(0.05)

    def wait_until_answered(self, marker: str, timeout: float = 30.0) -> None:
        """Until the provider has answered every call it received (a killed worker's calls
        go on there, and are billed)."""
        deadline = time.time() + timeout
        while any(call.status is None for call in self.provider.calls_for(marker)):
            if time.time() > deadline:
                raise RuntimeError("the provider never answered some calls")
            time.sleep(0.1)

    def settle(self, jobs: list, *, timeout: float = 180.0) -> None:
        """Wait for every job to end, running the reaper as Celery beat would."""
        from jobs.models import GenerationJob
        from jobs.services import jobs_reap

        ids = [job.id for job in jobs]
        deadline = time.time() + timeout
        last_reap = 0.0
        while time.time() < deadline:
            unfinished = GenerationJob.objects.filter(id__in=ids).exclude(
                status__in=GenerationJob.TERMINAL
            )
            if not unfinished.exists():
                return
            if time.time() - last_reap > 1.0:
                jobs_reap()
                last_reap = time.time()
            time.sleep(0.2)

    def measure(self, fault: str, label: str, jobs: list, started: float) -> DrillResult:
        from gallery.models import Image
        from jobs.models import GenerationJob

        jobs = list(GenerationJob.objects.filter(id__in=[j.id for j in jobs]))
        statuses = collections.Counter(job.status for job in jobs)
        failed = collections.Counter(
            job.error_code for job in jobs if job.status in ("failed", "unknown")
        )
        images = collections.defaultdict(list)
        for image in Image.objects.filter(job__in=jobs):
            images[image.job_id].append(image)
        objects = set()
        for page in (
            self.s3_client().get_paginator("list_objects_v2").paginate(Bucket="atelier-faults")
        ):
            objects.update(item["Key"] for item in page.get("Contents", []))

        lost = duplicates = 0
        paid = collections.Counter()
        for job in jobs:
            marker = job.prompt[job.prompt.rindex("[") :]
            calls = self.provider.calls_for(marker)
            answered = sum(1 for c in calls if c.status == 200)
            if answered:
                paid[answered] += 1
            rows = images[job.id]
            expected_keys = {k for image in rows for k in (image.original_key, image.thumbnail_key)}
            # The kept answer (answers/<job>/…) is the hand-off between the stages, not an
            # image: it stays for a job that did not store it, and is gone once stored.
            kept = {k for k in objects if k.startswith(f"answers/{job.id}/")}
            job_objects = {k for k in objects if f"/{job.id}/" in k} - kept
            if job.status == "succeeded" and kept:
                lost += 1  # a leftover answer means the job was not settled as stored
            if job.status not in GenerationJob.TERMINAL:
                lost += 1  # never finished
            elif job.status == "succeeded" and (
                len(rows) != job.params.get("n", 1) or not expected_keys <= job_objects
            ):
                lost += 1
            elif (
                job.status == "failed"
                and answered
                and job.error_code not in ("invalid_image", "image_url_expired", "bad_response")
            ):
                lost += 1  # the provider answered with images we failed to keep
            # "unknown" jobs are reported as such: the provider may have made an image
            # that it never delivered, and Atelier says so instead of paying again.
            duplicates += len(job_objects - expected_keys)
            duplicates += len(rows) - len({image.index for image in rows})
        return DrillResult(
            fault=fault,
            jobs=len(jobs),
            succeeded=statuses.get("succeeded", 0),
            failed=dict(failed),
            unknown=statuses.get("unknown", 0),
            lost=lost,
            duplicates=duplicates,
            paid_calls_per_job=sorted(paid),
            provider_calls=len(self.provider.calls_for(f"[{label}-")),
            seconds=round(time.time() - started, 1),
        )


# -- the drills --------------------------------------------------------------------


def drill_kill_mid_call(lab: Lab) -> DrillResult:
    """kill -9 of the I/O stage while the provider works on two requests; three more wait
    in the queue (two greenlets, so they do)."""
    started = time.time()
    io, _cpu = lab.start_worker(concurrency=2)
    jobs = lab.submit("midcall", ["a slow lighthouse fake:slow:3"] * 2)
    lab.wait_until_calls("[midcall-", 2)
    jobs += lab.submit("midcall", ["a queued harbour"] * 3)
    lab.kill_worker(io)
    lab.start_stage("io")
    lab.settle(jobs)
    return lab.measure("kill -9 I/O worker during provider call", "midcall", jobs, started)


def drill_kill_after_answer(lab: Lab) -> DrillResult:
    """kill -9 of the I/O stage after the provider answered (with URLs), while it streams
    the images into storage."""
    started = time.time()
    io, _cpu = lab.start_worker(concurrency=2)
    jobs = lab.submit("afteranswer", ["an owl fake:url_slow:3"] * 2)
    lab.wait_until_calls("[afteranswer-", 2)
    time.sleep(1.0)  # the answer is kept; the download of its URL is stalled
    lab.kill_worker(io)
    lab.start_stage("io")
    lab.settle(jobs)
    return lab.measure(
        "kill -9 I/O worker between answer and storage", "afteranswer", jobs, started
    )


def drill_kill_io_in_flight(lab: Lab) -> DrillResult:
    """kill -9 of the I/O stage with many calls in flight on one gevent process."""
    started = time.time()
    count = 50 if lab.quick else 300
    # Calls that last longer than it takes to send them all (the drills' usual provider
    # timeout, 3 s, would end them first).
    patient = {"ATELIER_PROVIDER_TIMEOUT": "60"}
    io = lab.start_stage("io", concurrency=1000, env=patient)
    lab.start_stage("cpu")
    jobs = lab.submit("inflight", ["a slow armada fake:slow:15"] * count)
    lab.wait_until_calls("[inflight-", count, timeout=60)
    connections = lab.db_connections()
    lab.kill_worker(io)
    lab.start_stage("io", concurrency=1000, env=patient)
    lab.settle(jobs, timeout=240)
    lab.wait_until_answered("[inflight-", timeout=30)  # the provider finishes (and bills) them
    result = lab.measure(
        f"kill -9 I/O worker with {count} calls in flight", "inflight", jobs, started
    )
    result.notes = f"{count} calls in flight, {connections} database connections held"
    return result


def drill_kill_cpu_mid_store(lab: Lab) -> DrillResult:
    """kill -9 of the CPU stage while it stores a batch of four-image answers."""
    from gallery.models import Image

    started = time.time()
    _io, cpu = lab.start_worker(concurrency=50, cpu_concurrency=1)
    jobs = lab.submit("midstore", ["a mural in four panels"] * 6, size="1024x1024", n=4)
    total = 4 * len(jobs)
    deadline = time.time() + 120
    while not 0 < (stored := Image.objects.filter(job__in=jobs).count()) < total:
        if time.time() > deadline or stored >= total:
            raise RuntimeError(f"never caught the CPU stage mid-store ({stored}/{total})")
        time.sleep(0.02)
    lab.kill_worker(cpu)
    lab.start_stage("cpu")
    lab.settle(jobs)
    result = lab.measure("kill -9 CPU worker mid-store", "midstore", jobs, started)
    result.notes = f"killed with {stored} of {total} images stored"
    return result


def drill_redis_restart(lab: Lab) -> DrillResult:
    """Redis restarted (it keeps nothing on disk, so every queued message is gone)."""
    started = time.time()
    jobs = lab.submit("redis", ["a queued meadow"] * (5 if lab.quick else 20))
    lab.stop_redis()
    lab.start_redis()
    lab.start_worker()
    lab.settle(jobs)
    return lab.measure("Redis restarted and flushed with jobs queued", "redis", jobs, started)


def drill_s3_outage(lab: Lab) -> DrillResult:
    """The S3 server goes down before the writes and comes back later."""
    started = time.time()
    outage = 8.0 if lab.quick else 60.0
    lab.s3_down()
    lab.start_worker()
    jobs = lab.submit("s3", ["a canyon at noon"] * 5)
    time.sleep(outage)
    lab.s3_up()
    lab.settle(jobs, timeout=outage + 240)
    return lab.measure(f"S3 down for {outage:.0f}s during writes", "s3", jobs, started)


def drill_provider_storm(lab: Lab) -> DrillResult:
    started = time.time()
    lab.start_worker(concurrency=50)
    prompts = [
        "a desert fake:fail_then_ok:rate_limit_exceeded,2",
        "a harbour fake:fail_then_ok:internal_error,1",
        "a slow glacier fake:slow:5",
        "a canyon fake:truncated",
        "a forest fake:bad_b64",
        "a volcano fake:url_expired",
        "a bridge fake:html",
    ]
    jobs = lab.submit("storm", prompts * (1 if lab.quick else 3))
    lab.settle(jobs, timeout=240)
    return lab.measure(
        "storm: 429+Retry-After, 500, timeout, truncated JSON, bad base64, URL 403, 502 HTML",
        "storm",
        jobs,
        started,
    )


def drill_duplicate_delivery(lab: Lab) -> DrillResult:
    from jobs.services import job_enqueue

    started = time.time()
    jobs = lab.submit("twice", ["a twin comet"] * 10)
    for job in jobs:
        job_enqueue(job_id=job.id)  # the same message a second time
    lab.start_worker(concurrency=50)
    lab.settle(jobs)
    return lab.measure("the same job message delivered twice", "twice", jobs, started)


def drill_burst(lab: Lab) -> DrillResult:
    started = time.time()
    count = 500
    lab.start_worker(concurrency=200)
    jobs = lab.submit("burst", ["a burst of stars"] * count)
    lab.settle(jobs, timeout=600)
    return lab.measure(f"{count} jobs submitted at once", "burst", jobs, started)


DRILLS = {
    "kill_mid_call": drill_kill_mid_call,
    "kill_after_answer": drill_kill_after_answer,
    "kill_io_in_flight": drill_kill_io_in_flight,
    "kill_cpu_mid_store": drill_kill_cpu_mid_store,
    "redis_restart": drill_redis_restart,
    "s3_outage": drill_s3_outage,
    "provider_storm": drill_provider_storm,
    "duplicate_delivery": drill_duplicate_delivery,
    "burst": drill_burst,
}


def format_table(results: list[DrillResult]) -> str:
    header = (
        "| fault | jobs | succeeded | failed or unknown (reason: count) | lost | duplicates "
        "| paid provider calls per answered job | seconds | notes |"
    )
    lines = [header, "|---|---:|---:|---|---:|---:|---|---:|---|"]
    for r in results:
        reasons = ", ".join(f"{code}: {n}" for code, n in sorted(r.failed.items())) or "—"
        paid = ", ".join(str(n) for n in r.paid_calls_per_job) or "—"
        lines.append(
            f"| {r.fault} | {r.jobs} | {r.succeeded} | {reasons} | {r.lost} | {r.duplicates} "
            f"| {paid} | {r.seconds} | {r.notes or '—'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter outage, fewer jobs")
    parser.add_argument("--only", nargs="*", choices=sorted(DRILLS), help="run these drills")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--write-docs", action="store_true", help="update docs/reliability.md")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    lab = Lab(quick=args.quick)
    lab.start()
    results = []
    try:
        for name in args.only or list(DRILLS):
            for worker in list(lab.workers):
                lab.kill_worker(worker, signal.SIGTERM)
            results.append(DRILLS[name](lab))
            print(f"{name}: done in {results[-1].seconds}s", file=sys.stderr, flush=True)
    finally:
        for worker in list(lab.workers):
            lab.kill_worker(worker, signal.SIGTERM)
        lab.close()
    table = format_table(results)
    print(table)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    if args.write_docs:
        write_docs(table, quick=args.quick)
    return 0


def write_docs(table: str, *, quick: bool) -> None:
    path = ROOT / "docs" / "reliability.md"
    text = path.read_text()
    start, end = "<!-- drills:start -->", "<!-- drills:end -->"
    command = ".venv/bin/python bench/reliability.py --write-docs" + (" --quick" if quick else "")
    block = (
        f"{start}\nLatest run ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"`{command}`):\n\n{table}\n{end}"
    )
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(head + block + tail)


if __name__ == "__main__":
    sys.exit(main())
