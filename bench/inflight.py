#!/usr/bin/env python
"""Provider calls in flight: today's prefork worker beside the worker commands compose ships.

Starts the fake provider (every image request waits a latency drawn uniformly from a range,
and the fake counts the requests it holds), its own Redis, PostgreSQL (a database of its
own), the moto S3 server and, for each shape, the worker commands with the environment
docker-compose.yml gives them (service host names swapped for the local services). It
queues N jobs through ``jobs.services.job_create``, starts the shape's workers, runs them
until every job has ended or for a fixed window after the provider's first answer, and
prints one table, the shapes side by side.

    .venv/bin/python bench/inflight.py                      # 1,000 jobs, 30-90 s, 3 min window
    .venv/bin/python bench/inflight.py --quick              # 60 jobs, 2-4 s, 30 s window
    .venv/bin/python bench/inflight.py --jobs 300 --latency 20-40 --window 120 --write-docs
    .venv/bin/python bench/inflight.py --midjourney --write-docs  # Midjourney: polls vs callbacks

Shapes: ``baseline`` is ``celery worker --concurrency 4``, the one prefork worker compose
shipped before the pipeline was staged; ``staged`` is every ``celery ... worker`` service
docker-compose.yml ships now, parsed from the file. Needs PostgreSQL on 127.0.0.1:5432
(trust authentication) and a ``redis-server`` binary.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

# Today's worker, as docker-compose.yml shipped it before issue 11: one prefork pool.
BASELINE_COMMAND = ["celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "4"]
MODEL = "gpt-image-2"
PARAMS = {"size": "1024x1024", "n": 1}
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# The bench's own connections to its database say so, and are not counted as the workers'.
BENCH_APPLICATION = "atelier-bench"
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# Log records at ERROR or worse, in Celery's text format or ATELIER_LOG_FORMAT=json.
_ERROR_RECORD = re.compile(r": (ERROR|CRITICAL)/|\"level\": ?\"(ERROR|CRITICAL)\"")


# -- what docker-compose.yml ships ------------------------------------------------------


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?message} and $$."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"{name}: {arg}")
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        return value or ""

    return _VARIABLE.sub(one, text)


def compose_file(path: Path = ROOT / "docker-compose.yml") -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def compose_services(path: Path = ROOT / "docker-compose.yml") -> dict:
    return compose_file(path)["services"]


def worker_queues(workers: dict[str, list[str]]) -> list[str]:
    """The queues the compose workers consume (their -Q), in order."""
    queues: list[str] = []
    for command in workers.values():
        for flag, value in zip(command, command[1:], strict=False):
            if flag in ("-Q", "--queues"):
                queues += [q for q in value.split(",") if q not in queues]
    return queues


def baseline_workers(workers: dict[str, list[str]]) -> dict[str, list[str]]:
    """Today's one prefork pool; once the stages have queues of their own, it serves them
    all, as a single worker must."""
    queues = worker_queues(workers)
    return {"worker": BASELINE_COMMAND + (["-Q", ",".join(queues)] if queues else [])}


def is_celery_worker(command) -> bool:
    parts = [str(p) for p in command] if isinstance(command, list) else str(command).split()
    return bool(parts) and Path(parts[0]).name == "celery" and "worker" in parts


def compose_workers(services: dict | None = None) -> dict[str, list[str]]:
    """Every service whose command is a ``celery ... worker``, by service name."""
    services = compose_services() if services is None else services
    workers = {}
    for name, spec in services.items():
        command = spec.get("command")
        if command and is_celery_worker(command):
            parts = command if isinstance(command, list) else str(command).split()
            workers[name] = [interpolate(str(p), {}) for p in parts]
    return workers


def env_file_filled() -> dict[str, str]:
    """.env.example with every placeholder replaced, as its comments ask an operator to."""
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    env = {k.strip(): v.strip() for k, v in pairs}
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    for name, value in env.items():
        if value.startswith("REPLACE"):
            env[name] = secrets.token_urlsafe(16)
    return env


def service_env(spec: dict, env_file: dict[str, str], local: dict[str, str]) -> dict[str, str]:
    """The environment compose gives a service, with service host names made local."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    if spec.get("env_file"):
        env.update(env_file)
    for name, value in (spec.get("environment") or {}).items():
        env[name] = interpolate(str(value), env_file)
    for name, value in env.items():
        for remote, here in local.items():
            value = value.replace(remote, here)
        env[name] = value
    return env


# -- measuring -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def proc_stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): state, ppid, …"""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process under it (the pool's children, gevent's hub has none)."""
    try:
        import psutil

        root = psutil.Process(pid)
        return [pid] + [p.pid for p in root.children(recursive=True)]
    except ImportError:
        pass
    except Exception:
        return []
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(proc_stat(int(entry.name))[1])
            except (OSError, ValueError):
                continue
    tree, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        if current in parents:
            tree.append(current)
            frontier.extend(child for child, parent in parents.items() if parent == current)
    return tree


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User + system CPU the processes have used so far; with ``reaped``, also that of their
    children that have exited (PostgreSQL's backends come and go with connections)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = proc_stat(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if reaped:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / ticks


def parent_pid(pid: int) -> int:
    return int(proc_stat(pid)[1])


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])
    ticks = os.sysconf("SC_CLK_TCK")
    return (total - idle) / ticks, total / ticks


class CpuMeter:
    """CPU used by every process on the machine the bench can name: the shape's workers,
    the S3 server, Redis, PostgreSQL (the whole server) and this process (the fake
    provider's threads, the sampler), and the machine as a whole."""

    def __init__(self, *, s3: int, redis: int, postmaster: int):
        self.s3, self.redis, self.postmaster = s3, redis, postmaster

    def read(self, workers: dict[str, int]) -> dict[str, float]:
        figures = {name: cpu_seconds(process_tree(pid)) for name, pid in workers.items()}
        figures["S3 server"] = cpu_seconds([self.s3])
        figures["Redis"] = cpu_seconds([self.redis])
        figures["PostgreSQL"] = cpu_seconds([self.postmaster], reaped=True) + cpu_seconds(
            process_tree(self.postmaster)[1:]
        )
        own = os.times()
        figures["bench + fake provider"] = own.user + own.system
        figures["machine"], figures["machine (all cores)"] = machine_busy_seconds()
        return figures

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: after[name] - before[name] for name in after}


def pg_connections(cursor, database: str, exclude: list[int]) -> int:
    """Client connections to ``database`` now, leaving out the backends in ``exclude``."""
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
        "AND backend_type = 'client backend' AND NOT (pid = ANY(%s)) "
        "AND application_name IS DISTINCT FROM %s",
        [database, exclude, BENCH_APPLICATION],
    )
    return cursor.fetchone()[0]


def pg_sessions(admin, database: str) -> int:
    """Connections opened to ``database`` so far (each one a backend process forked)."""
    row = admin.execute(
        "SELECT sessions FROM pg_stat_database WHERE datname = %s", [database]
    ).fetchone()
    return int(row[0]) if row else 0


def log_errors(paths: list[Path]) -> tuple[int, int]:
    """(records at ERROR or worse, OperationalError lines) in the workers' logs."""
    records = operational = 0
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            records += bool(_ERROR_RECORD.search(line))
            operational += "OperationalError" in line
    return records, operational


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Sample:
    at: float
    in_flight: int
    rss: int
    pg: int


@dataclass
class ShapeResult:
    shape: str
    commands: list[str]
    jobs: int
    peak_in_flight: int = 0
    peak_rss_mb: float = 0.0
    peak_pg: int = 0
    pg_sessions: int = 0  # connections opened to the bench's database while the shape ran
    error_records: int = 0
    operational_errors: int = 0
    failed_jobs: int = 0
    succeeded: int = 0
    provider_calls: int = 0
    paid_twice: int = 0
    seconds: float = 0.0
    jobs_per_minute: float = 0.0
    stored_p50: float | None = None
    stored_p95: float | None = None
    kept_p95: float | None = None  # answer -> kept by the I/O stage (ProviderAnswer row)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by service, and the S3 server
    samples: list[Sample] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.error_records + self.failed_jobs


class Bench:
    def __init__(self, *, latency: tuple[float, float], window: float, seed: int = 11):
        self.latency = latency
        self.window = window
        self.seed = seed
        self.tmp = Path(tempfile.mkdtemp(prefix="atelier-inflight-"))
        self.redis_port = free_port()
        self.s3_port = free_port()
        self.db_name = f"atelier_bench_inflight_{uuid.uuid4().hex[:6]}"
        self.compose = compose_file()
        self.services = self.compose["services"]
        self.env_file = env_file_filled()
        self.env_file["ATELIER_S3_PUBLIC_URL"] = f"http://127.0.0.1:{self.s3_port}"
        password = self.env_file["POSTGRES_PASSWORD"]
        self.local = {
            # trust authentication locally: the password compose puts in the URL is ignored
            f"atelier:{password}@postgres:5432/atelier": (
                f"postgres:{password}@127.0.0.1:5432/{self.db_name}"
            ),
            "redis://redis:6379/0": f"redis://127.0.0.1:{self.redis_port}/0",
            "http://minio:9000": f"http://127.0.0.1:{self.s3_port}",
        }
        self.redis: subprocess.Popen | None = None
        self.provider = None

    # -- environment -------------------------------------------------------------------
    def worker_env(self, service: str | None) -> dict[str, str]:
        # The baseline's "worker" may no longer be a compose service: it gets the
        # environment every application service shares (x-app), without a stage's extras.
        spec = self.services.get(service or "") or self.compose.get("x-app") or {}
        env = service_env(spec, self.env_file, self.local)
        env.update(self.provider_env())
        env["ATELIER_DATA_DIR"] = str(self.tmp)
        return env

    def provider_env(self) -> dict[str, str]:
        from tests.fake_provider import API_KEY

        return {
            "OPENAI_BASE_URL": self.provider.base_url if self.provider else "http://127.0.0.1:9",
            "OPENAI_API_KEY": API_KEY,
            "ATELIER_OPENAI_MODELS": MODEL,
            # The fake serves from loopback, which downloads refuse unless it is listed.
            "ATELIER_OPENAI_ALLOWED_NETWORKS": "127.0.0.1/32",
            # The slowest answer must not time out.
            "ATELIER_PROVIDER_TIMEOUT": str(int(self.latency[1]) + 60),
        }

    # -- services ----------------------------------------------------------------------
    def start(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.redis_port)
        # A process of its own, as MinIO is a container of its own: in this process it
        # would share one interpreter lock with the fake provider's thousand threads.
        self.s3 = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.s3_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.s3_port)
        import psycopg

        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.db_name}"')
        # This process submits the jobs: it gets the workers' environment, and limits that
        # let one user queue a thousand jobs at once.
        env = self.worker_env(None)
        env.pop("PATH")
        os.environ.update(env)
        os.environ.update(
            {
                "ATELIER_RATE_LIMIT_JOBS_PER_MINUTE": "1000000",
                "ATELIER_DEFAULT_DAILY_IMAGES": "1000000",
                "ATELIER_DEFAULT_MONTHLY_SPEND_USD": "1000000",
            }
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.bucket = settings.AWS_STORAGE_BUCKET_NAME
        import boto3

        boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.s3_port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket=self.bucket)

    def close(self) -> None:
        from django.db import connections

        connections.close_all()
        if self.provider is not None:
            self.provider.stop()
        self.s3.kill()
        self.s3.wait()
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait()
        import psycopg

        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def start_worker(self, service: str, command: list[str], env: dict) -> subprocess.Popen:
        command = list(command)
        executable = BIN / command[0]
        command[0] = str(executable if executable.exists() else command[0])
        if "-n" not in command and "--hostname" not in command:
            # Each compose service runs in a container of its own, with its own host name.
            command += ["-n", f"{service}-{uuid.uuid4().hex[:4]}@%h"]
        log_path = self.tmp / f"{service}-{uuid.uuid4().hex[:6]}.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log_path = log_path  # type: ignore[attr-defined]
        return process

    @staticmethod
    def wait_ready(processes: list[subprocess.Popen], timeout: float = 90.0) -> None:
        deadline = time.time() + timeout
        for process in processes:
            path = process.log_path  # type: ignore[attr-defined]
            while "ready." not in path.read_text(errors="replace"):
                if process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"worker did not start:\n{path.read_text()[-3000:]}")
                time.sleep(0.2)

    @staticmethod
    def stop_worker(process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    # -- one shape -------------------------------------------------------------------------
    def run_shape(self, shape: str, workers: dict[str, list[str]], jobs: int) -> ShapeResult:
        import psycopg
        from django.contrib.auth import get_user_model
        from django.db import connection, connections, transaction

        from gallery.models import Image
        from jobs.models import GenerationJob
        from jobs.services import job_create
        from tests.fake_provider import FakeImageProvider

        if self.provider is not None:
            self.provider.stop()
        # A provider of its own per shape, so calls abandoned by the last shape's workers
        # are not counted in flight for this one.
        self.provider = FakeImageProvider(latency=self.latency, seed=self.seed).start()
        result = ShapeResult(
            shape=shape, commands=[" ".join(c) for c in workers.values()], jobs=jobs
        )
        label = f"{shape}-{uuid.uuid4().hex[:6]}"
        user, _ = get_user_model().objects.get_or_create(username=f"bench-{label}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own_pid = cursor.fetchone()[0]
        # Queued first, then the workers start: every job is waiting when they do.
        submitted = time.time()
        for index in range(jobs):
            with transaction.atomic():
                job_create(
                    user=user,
                    model_name=MODEL,
                    prompt=f"a lighthouse at dusk {index} [{label}-{index}]",
                    params=dict(PARAMS),
                )
        print(
            f"{shape}: {jobs} jobs queued in {time.time() - submitted:.1f}s",
            file=sys.stderr,
            flush=True,
        )
        connections.close_all()  # this process holds no connection while the workers run

        meter = CpuMeter(s3=self.s3.pid, redis=self.redis.pid, postmaster=parent_pid(own_pid))
        processes = [
            self.start_worker(service, command, self.worker_env(service))
            for service, command in workers.items()
        ]
        stop = threading.Event()
        admin = psycopg.connect(ADMIN_DSN, autocommit=True)
        # One connection of the bench's own, opened before counting: only the workers' count.
        watch = psycopg.connect(
            self.local_dsn(), autocommit=True, application_name=BENCH_APPLICATION
        )
        sessions_before = pg_sessions(admin, self.db_name)

        def sample() -> None:
            with admin.cursor() as cursor:
                while not stop.is_set():
                    pids = [pid for p in processes for pid in process_tree(p.pid)]
                    result.samples.append(
                        Sample(
                            at=time.time(),
                            in_flight=self.provider.in_flight,
                            rss=rss_bytes(pids),
                            pg=pg_connections(cursor, self.db_name, [own_pid]),
                        )
                    )
                    stop.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            self.wait_ready(processes)
            # Start-up (imports, forking the pool) is not the jobs' work.
            by_service = dict(zip(workers, (p.pid for p in processes), strict=True))
            ready_cpu = meter.read(by_service)
            started = time.time()
            first_answer_by = started + self.latency[1] + 120
            while self.provider.answers == 0 and time.time() < first_answer_by:
                time.sleep(0.1)
            first = min(
                (c.answered_at for c in self.provider.calls if c.answered_at), default=time.time()
            )
            window_end = first + self.window
            while time.time() < window_end and not self._all_ended(watch, label, jobs):
                time.sleep(1.0)
            ended = min(time.time(), window_end)
            result.error_records, result.operational_errors = log_errors(
                [p.log_path for p in processes]  # type: ignore[attr-defined]
            )
            result.cpu_seconds = meter.spent(ready_cpu, meter.read(by_service))
        finally:
            stop.set()
            sampler.join()
            time.sleep(1.0)  # the statistics collector counts sessions as they end
            result.pg_sessions = pg_sessions(admin, self.db_name) - sessions_before
            admin.close()
            watch.close()
            for process in processes:
                self.stop_worker(process)

        rows = list(GenerationJob.objects.filter(owner=user))
        answered_at: dict[str, float] = {}
        calls_per_job: dict[str, int] = {}
        for call in self.provider.calls:
            marker = re.search(rf"\[{re.escape(label)}-\d+\]", call.prompt)
            if marker and call.path == "/v1/images/generations":
                calls_per_job[marker[0]] = calls_per_job.get(marker[0], 0) + 1
                if call.status == 200 and call.answered_at:
                    answered_at[marker[0]] = call.answered_at
        stored_at: dict = {}
        for job_id, created in Image.objects.filter(job__owner=user).values_list(
            "job_id", "created_at"
        ):
            stored_at[job_id] = max(stored_at.get(job_id, 0.0), created.timestamp())
        from jobs.models import ProviderAnswer

        kept_at = {
            job_id: received.timestamp()
            for job_id, received in ProviderAnswer.objects.filter(job__owner=user).values_list(
                "job_id", "received_at"
            )
        }
        delays, kept_delays = [], []
        for job in rows:
            marker = job.prompt[job.prompt.rindex("[") :]
            if (
                job.status == "succeeded"
                and job.finished_at
                and job.finished_at.timestamp() <= (ended)
            ):
                result.succeeded += 1
                if marker in answered_at:
                    stored = max(job.finished_at.timestamp(), stored_at.get(job.id, 0.0))
                    delays.append(stored - answered_at[marker])
                    if job.id in kept_at:
                        kept_delays.append(kept_at[job.id] - answered_at[marker])
            elif job.status in ("failed", "unknown"):
                result.failed_jobs += 1
        result.provider_calls = sum(calls_per_job.values())
        result.paid_twice = sum(1 for n in calls_per_job.values() if n > 1)
        result.seconds = round(ended - started, 1)
        result.jobs_per_minute = round(result.succeeded / max(ended - started, 1e-9) * 60, 1)
        result.stored_p50 = percentile(delays, 50)
        result.stored_p95 = percentile(delays, 95)
        result.kept_p95 = percentile(kept_delays, 95)
        result.peak_in_flight = max(
            self.provider.peak_in_flight, max((s.in_flight for s in result.samples), default=0)
        )
        result.peak_rss_mb = round(max((s.rss for s in result.samples), default=0) / 2**20, 1)
        result.peak_pg = max((s.pg for s in result.samples), default=0)

        # What this shape left queued must not run under the next one.
        GenerationJob.objects.filter(owner=user).exclude(status__in=GenerationJob.TERMINAL).update(
            status="cancelled", error_code="bench_window_closed"
        )
        import redis

        redis.Redis(port=self.redis_port).flushall()
        connections.close_all()
        return result

    @staticmethod
    def _all_ended(watch, label: str, jobs: int) -> bool:
        finished = watch.execute(
            "SELECT count(*) FROM jobs_generationjob WHERE prompt LIKE %s AND status = ANY(%s)",
            [f"%[{label}-%", ["succeeded", "failed", "unknown", "cancelled"]],
        ).fetchone()[0]
        return finished >= jobs

    def local_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"


def cpu_by_process(result: ShapeResult) -> str:
    per_job = {
        name: seconds / max(result.succeeded, 1) * 1000
        for name, seconds in result.cpu_seconds.items()
        if not name.startswith("machine")
    }
    return ", ".join(f"{name} {ms:,.0f} ms" for name, ms in per_job.items()) or "—"


def machine_cpu(result: ShapeResult) -> str:
    busy, capacity = (result.cpu_seconds.get(k) for k in ("machine", "machine (all cores)"))
    if not busy or not capacity:
        return "—"
    cores = os.cpu_count() or 1
    return (
        f"{busy / capacity * cores * 100:,.0f}% of {cores * 100}%, "
        f"{busy / max(result.succeeded, 1) * 1000:,.0f} ms a job"
    )


def format_table(results: list[ShapeResult], *, latency, window: float) -> str:
    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value * 1000:,.0f} ms"

    rows = [
        ("worker commands", [" + ".join(f"`{c}`" for c in r.commands) for r in results]),
        ("jobs queued", [f"{r.jobs:,}" for r in results]),
        ("peak provider calls in flight", [f"{r.peak_in_flight:,}" for r in results]),
        ("peak RSS, all worker processes", [f"{r.peak_rss_mb:,.0f} MB" for r in results]),
        ("peak PostgreSQL connections (workers)", [str(r.peak_pg) for r in results]),
        ("PostgreSQL connections opened (workers)", [f"{r.pg_sessions:,}" for r in results]),
        (
            "errors (ERROR log records + failed/unknown jobs)",
            [
                f"{r.errors} ({r.error_records} + {r.failed_jobs}; "
                f"{r.operational_errors} OperationalError lines)"
                for r in results
            ],
        ),
        ("jobs succeeded (seconds run)", [f"{r.succeeded:,} ({r.seconds} s)" for r in results]),
        ("jobs per minute", [f"{r.jobs_per_minute:,.1f}" for r in results]),
        ("answer → stored p50", [ms(r.stored_p50) for r in results]),
        ("answer → stored p95", [ms(r.stored_p95) for r in results]),
        ("of which answer → kept (I/O stage) p95", [ms(r.kept_p95) for r in results]),
        ("CPU per job succeeded, by process", [cpu_by_process(r) for r in results]),
        ("machine CPU busy, and per job succeeded", [machine_cpu(r) for r in results]),
        (
            "provider calls (jobs called twice)",
            [f"{r.provider_calls:,} ({r.paid_twice})" for r in results],
        ),
    ]
    header = "| | " + " | ".join(r.shape for r in results) + " |"
    lines = [
        f"Latency uniform {latency[0]:g}–{latency[1]:g} s; window {window:g} s after the first "
        "answer (a shape stops early once every job has ended).",
        "",
        header,
        "|---|" + "---:|" * len(results),
    ]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows]
    return "\n".join(lines)


def write_docs(
    table: str,
    command: str,
    *,
    marker: str = "inflight",
    title: str = "Provider calls in flight (issue 11)",
) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = (
        f"{start}\nLatest run ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"`{command}`):\n\n{table}\n{end}"
    )
    if start not in text:
        text += f"\n## {title}\n\n{start}\n{end}\n"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(head + block + tail)


def parse_latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    latency = (float(low), float(high or low))
    if not 0 <= latency[0] <= latency[1]:
        raise argparse.ArgumentTypeError("latency is LOW-HIGH seconds, LOW <= HIGH")
    return latency


def midjourney_requests(*, jobs: int, write: bool) -> int:
    """bench/midjourney_requests.py in a process of its own (it runs on its own SQLite
    settings, with a web server for the callbacks), its table printed and kept."""
    command = [sys.executable, str(ROOT / "bench" / "midjourney_requests.py"), "--jobs", str(jobs)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    sys.stderr.write(done.stderr[-3000:] if done.returncode else "")
    print(done.stdout, end="")
    if write and done.returncode == 0:
        write_docs(
            done.stdout.strip(),
            f"python bench/inflight.py --midjourney --jobs {jobs}",
            marker="midjourney",
            title="Provider requests per Midjourney job (issue 15)",
        )
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, help="jobs per shape (default 1,000)")
    parser.add_argument("--latency", type=parse_latency, help="seconds, LOW-HIGH (30-90)")
    parser.add_argument("--window", type=float, help="seconds after the first answer (180)")
    parser.add_argument("--shape", choices=("baseline", "staged", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="60 jobs, 2-4 s, 30 s window")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--midjourney",
        action="store_true",
        help="instead: provider requests per Midjourney job, polls only versus callbacks",
    )
    args = parser.parse_args()
    if args.midjourney:
        return midjourney_requests(jobs=args.jobs or 20, write=args.write_docs)
    jobs = args.jobs or (60 if args.quick else 1000)
    latency = args.latency or ((2.0, 4.0) if args.quick else (30.0, 90.0))
    window = args.window or (30.0 if args.quick else 180.0)

    shapes: list[tuple[str, dict[str, list[str]]]] = []
    staged = compose_workers()
    if args.shape in ("baseline", "both"):
        shapes.append(("baseline", baseline_workers(staged)))
    if args.shape in ("staged", "both"):
        shapes.append(("staged (docker-compose.yml)", staged))
    bench = Bench(latency=latency, window=window)
    results = []
    bench.start()
    try:
        for name, workers in shapes:
            results.append(bench.run_shape(name, workers, jobs))
            print(f"{name}: done in {results[-1].seconds}s", file=sys.stderr, flush=True)
    finally:
        bench.close()
    table = format_table(results, latency=latency, window=window)
    print(table)
    if args.write_docs:
        write_docs(table, "python bench/inflight.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
