#!/usr/bin/env python
"""Held API requests: N concurrent /v1/images/generations against a slow provider.

Starts the fault drills' private services (``bench.reliability.Lab``: PostgreSQL database,
Redis, moto S3, the fake provider), a Celery worker, and the web tier the way compose runs
it (gunicorn managing uvicorn workers serving ``config.asgi``). Then N clients (the official
``openai`` SDK, async) each send one generation whose provider call takes ``--latency``
seconds, and every request is held until its job ends. While they wait, the web tier's
processes are sampled: resident memory, threads, and PostgreSQL connections opened by web
(by ``application_name``), beside the number of requests held at that moment.

    .venv/bin/python bench/api_held.py                    # 200 requests, 8 s provider
    .venv/bin/python bench/api_held.py --requests 1000 --web-workers 2 --latency 20

Needs PostgreSQL on 127.0.0.1:5432 (trust authentication) and a ``redis-server`` binary.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reliability import Lab, free_port, wait_for_port  # noqa: E402

WEB_APPLICATION_NAME = "atelier-web-bench"
MODEL = "gpt-image-2"


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn's master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _status(pid: int, name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Sample:
    at: float
    held: int
    rss_mb: float
    threads: int
    db_connections: int
    unfinished_jobs: int = 0


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    held: int = 0
    ok: int = 0
    failed: list[str] = field(default_factory=list)


def _db_connections(db_name: str) -> int:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        row = c.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (db_name, WEB_APPLICATION_NAME),
        ).fetchone()
        return int(row[0]) if row else 0


def _unfinished_jobs(db_name: str) -> int:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db_name}") as c:
        row = c.execute(
            "SELECT count(*) FROM jobs_generationjob WHERE status IN ('queued', 'running')"
        ).fetchone()
        return int(row[0]) if row else 0


def _sampler(run: Run, web: subprocess.Popen, db_name: str, stop: threading.Event) -> None:
    while not stop.is_set():
        pids = _tree(web.pid)
        run.samples.append(
            Sample(
                at=time.monotonic(),
                held=run.held,
                rss_mb=sum(_status(p, "VmRSS") for p in pids) / 1024,
                threads=sum(_status(p, "Threads") for p in pids),
                db_connections=_db_connections(db_name),
                unfinished_jobs=_unfinished_jobs(db_name),
            )
        )
        stop.wait(0.5)


async def _clients(
    base_url: str, raw_token: str, n: int, latency: float, run: Run, *, label: str = "held"
) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        base_url=f"{base_url}/v1", api_key=raw_token, max_retries=0, timeout=latency * 20 + 120
    )

    async def one(number: int) -> None:
        run.held += 1
        try:
            answer = await client.images.generate(
                model=MODEL, prompt=f"fake:slow:{latency} {label} request {number}"
            )
            if answer.data and answer.data[0].b64_json:
                run.ok += 1
        except Exception as exc:  # counted and shown, the run goes on
            run.failed.append(f"{type(exc).__name__}: {exc}"[:200])
        finally:
            run.held -= 1

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()


def _queues() -> str:
    """Every queue a job's tasks go to (the job's run and its storing may be routed apart)."""
    from django.conf import settings

    routed = {route["queue"] for route in getattr(settings, "CELERY_TASK_ROUTES", {}).values()}
    return ",".join(sorted({settings.CELERY_TASK_DEFAULT_QUEUE} | routed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--latency", type=float, default=8.0, help="provider seconds per call")
    parser.add_argument("--web-workers", type=int, default=2)
    # Each worker thread holds a database connection: more than PostgreSQL's max_connections
    # (100 by default) fails jobs. Jobs beyond this many wait their turn, still held.
    parser.add_argument("--worker-threads", type=int, default=50)
    args = parser.parse_args()

    lab = Lab(quick=True)
    os.environ.update(
        {
            "ATELIER_PROVIDER_TIMEOUT": str(int(args.latency * 3 + 30)),
            "ATELIER_API_HOLD_SECONDS": str(int(args.latency * 20 + 60)),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "ATELIER_OPENAI_MODELS": MODEL,
            # One token makes every request: /v1/ counts against its per-minute budget.
            "ATELIER_API_REQUESTS_PER_MINUTE": "1000000",
        }
    )
    lab.start()
    web = worker = None
    try:
        from django.contrib.auth import get_user_model

        from api.services import token_create

        user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:6]}")
        _token, raw = token_create(user=user, name="bench", scopes=["generate"])
        from django.db import connections

        connections.close_all()

        env = dict(os.environ)
        env["DATABASE_URL"] += f"?application_name={WEB_APPLICATION_NAME}"
        port = free_port()
        web_log = open(lab.tmp / "web.log", "w")  # noqa: SIM115 - closed with the process
        web = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.asgi:application",
                "--worker-class",
                "uvicorn_worker.UvicornWorker",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.web_workers),
                "--backlog",
                "4096",
            ],
            cwd=ROOT,
            env=env,
            stdout=web_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(port, timeout=60)
        # Threads, so that many jobs' slow provider calls are in flight at once: the bench
        # measures the web tier's holding, not the worker's throughput.
        worker_log = open(lab.tmp / "worker.log", "w")  # noqa: SIM115
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                _queues(),
                "--pool",
                "threads",
                "--concurrency",
                str(args.worker_threads),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while "ready." not in (lab.tmp / "worker.log").read_text():
            assert worker.poll() is None and time.time() < deadline, "worker did not start"
            time.sleep(0.2)

        # Warm up every web worker (imports, the S3 client) so that idle means ready.
        warm = Run()
        base = f"http://127.0.0.1:{port}"
        asyncio.run(_clients(base, raw, 4 * args.web_workers, 0.1, warm, label="warm-up"))
        assert warm.ok == 4 * args.web_workers, warm.failed[:1]
        run = Run()
        stop = threading.Event()
        time.sleep(1.0)
        idle = Sample(
            at=0,
            held=0,
            rss_mb=sum(_status(p, "VmRSS") for p in _tree(web.pid)) / 1024,
            threads=sum(_status(p, "Threads") for p in _tree(web.pid)),
            db_connections=_db_connections(lab.db_name),
        )
        sampler = threading.Thread(target=_sampler, args=(run, web, lab.db_name, stop))
        sampler.start()
        started = time.monotonic()
        asyncio.run(_clients(base, raw, args.requests, args.latency, run))
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()

        # Pure waiting: every held request's job is made and none has ended yet.
        full = [s for s in run.samples if s.held > 0 and s.unfinished_jobs == s.held]
        full = full or run.samples
        print(
            f"{args.requests} held /v1/images/generations, provider {args.latency:.0f} s, "
            f"web: {args.web_workers} uvicorn workers under gunicorn"
        )
        print(f"{'':28} {'held':>6} {'web RSS MB':>11} {'threads':>8} {'web DB conns':>13}")

        def row(label: str, samples: list[Sample], pick) -> None:
            print(
                f"{label:28} {pick([x.held for x in samples]):>6} "
                f"{pick([x.rss_mb for x in samples]):>11.0f} "
                f"{pick([x.threads for x in samples]):>8} "
                f"{pick([x.db_connections for x in samples]):>13}"
            )

        row("idle", [idle], max)
        row(f"waiting (median, {len(full)} samples)", full, statistics.median_low)
        row("waiting (max)", full, max)
        row("peak, whole run", run.samples, max)
        print(
            f"answered {run.ok}/{args.requests} with images in {elapsed:.1f} s; "
            f"{len(run.failed)} failed" + (f" (first: {run.failed[0]})" if run.failed else "")
        )
        return 0 if run.ok == args.requests else 1
    finally:
        for process in (web, worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, 15)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
