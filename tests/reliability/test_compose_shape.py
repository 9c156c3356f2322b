"""What docker-compose.yml ships, tested without Docker: its files are read as compose reads
them, and its web and worker commands run with its environment (from .env.example, with
secrets filled in as an operator would) against the local PostgreSQL and Redis and a moto S3
server standing in for MinIO. Service addresses (postgres, redis, minio) are swapped for
local ones; nothing else in the environment or the commands is changed."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import zipfile
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import yaml
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?message} and $$."""

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        return value or ""

    return _VARIABLE.sub(one, text)


def dotenv(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def filled_env_file() -> dict[str, str]:
    """.env.example with every placeholder replaced, as the file's comments ask."""
    env = dotenv((ROOT / ".env.example").read_text())
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    for name, value in env.items():
        if value.startswith("REPLACE"):
            env[name] = secrets.token_urlsafe(16)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(service: str, env_file: dict[str, str], local: dict[str, str]) -> dict[str, str]:
    """The environment compose gives a service, with service host names made local."""
    spec = SERVICES[service]
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


def service_command(service: str, replace: dict[str, str] | None = None) -> list[str]:
    command = [interpolate(str(part), {}) for part in SERVICES[service]["command"]]
    executable = BIN / command[0]
    command[0] = str(executable if executable.exists() else command[0])
    return [(replace or {}).get(part, part) for part in command]


# -- what the files say ----------------------------------------------------------------


def test_minio_publishes_only_the_s3_api_and_never_its_console():
    minio = SERVICES["minio"]
    assert minio["ports"] == ["9000:9000"]
    assert "console-address" not in str(minio["command"])
    assert minio["environment"]["MINIO_BROWSER"] == "off"
    published = [p for s in SERVICES.values() for p in s.get("ports", [])]
    assert sorted(published) == ["8000:8000", "9000:9000"]


def test_every_credential_is_required_from_env_with_no_default():
    text = (ROOT / "docker-compose.yml").read_text()
    for name in (
        "POSTGRES_PASSWORD",
        "MINIO_ROOT_USER",
        "MINIO_ROOT_PASSWORD",
        "ATELIER_S3_ACCESS_KEY",
        "ATELIER_S3_SECRET_KEY",
    ):
        assert f"${{{name}:?" in text and f"${{{name}:-" not in text, name
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        service_env("web", {}, {})
    with pytest.raises(MissingVariable, match="MINIO_ROOT_USER"):
        service_env("minio", {}, {})


def test_the_application_gets_a_bucket_scoped_key_and_not_the_root_one():
    env_file = filled_env_file()
    for service in ("migrate", "web", "worker-io", "worker-cpu", "beat"):
        env = service_env(service, env_file, {})
        assert env["AWS_ACCESS_KEY_ID"] == env_file["ATELIER_S3_ACCESS_KEY"]
        assert env["AWS_SECRET_ACCESS_KEY"] == env_file["ATELIER_S3_SECRET_KEY"]
        assert env["MINIO_ROOT_USER"] == env["MINIO_ROOT_PASSWORD"] == ""
        assert env_file["MINIO_ROOT_PASSWORD"] not in env.values()
    init = (ROOT / "scripts/minio-init.sh").read_text()
    assert 'mc admin user add local "$ATELIER_S3_ACCESS_KEY" "$ATELIER_S3_SECRET_KEY"' in init
    assert "mc admin policy attach local atelier-app" in init
    policy = json.loads((ROOT / "scripts/minio-app-policy.json").read_text())
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert resources == {"arn:aws:s3:::atelier", "arn:aws:s3:::atelier/*"}
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert not any(a.startswith("s3:*") or a.startswith("admin:") for a in actions)


def test_compose_runs_the_two_stages_as_separate_services():
    io, cpu = SERVICES["worker-io"], SERVICES["worker-cpu"]
    assert "worker" not in SERVICES  # one service per stage, nothing serving both
    assert io["command"][io["command"].index("-P") + 1] == "gevent"
    assert io["command"][io["command"].index("-c") + 1] == "1000"
    assert io["command"][io["command"].index("-Q") + 1] == "atelier"
    assert io["environment"]["DATABASE_CONN_MAX_AGE"] == "0"
    assert int(io["environment"]["DATABASE_POOL_MAX_SIZE"]) <= 20
    assert "-P" not in cpu["command"]  # prefork
    assert cpu["command"][cpu["command"].index("--concurrency") + 1] == "2"
    assert cpu["command"][cpu["command"].index("-Q") + 1] == "atelier.cpu"
    # The rest of the environment is the application's, the same as every other service.
    shared = SERVICES["web"]["environment"]
    assert {k: v for k, v in io["environment"].items() if k in shared} == shared
    assert cpu["environment"] == shared


def test_the_dockerfile_and_compose_serve_the_asgi_application():
    web = SERVICES["web"]["command"]
    assert "config.asgi:application" in web and "uvicorn_worker.UvicornWorker" in web
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"' in (
        dockerfile
    )
    assert "--require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps ." in dockerfile
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


# -- the commands, run ---------------------------------------------------------------


@pytest.fixture(scope="module")
def local_services():
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    db_name = f"atelier_compose_{secrets.token_hex(4)}"
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{db_name}"')
    env_file = filled_env_file()
    env_file["ATELIER_S3_PUBLIC_URL"] = f"http://localhost:{port}"
    password = env_file["POSTGRES_PASSWORD"]
    local = {
        # trust authentication locally: the password compose puts in the URL is ignored
        f"atelier:{password}@postgres:5432/atelier": (
            f"postgres:{password}@127.0.0.1:5432/{db_name}"
        ),
        "redis://redis:6379/0": "redis://127.0.0.1:6379/0",
        "http://minio:9000": f"http://127.0.0.1:{port}",
    }
    import boto3

    boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=env_file["ATELIER_S3_ACCESS_KEY"],
        aws_secret_access_key=env_file["ATELIER_S3_SECRET_KEY"],
    ).create_bucket(Bucket="atelier")
    data_dir = Path(f"/tmp/atelier-compose-{os.getpid()}")
    data_dir.mkdir(exist_ok=True)
    yield {
        "env_file": env_file,
        "local": local,
        "port": port,
        "data_dir": data_dir,
        # A queue of its own on the shared local Redis.
        "queue": f"compose-{secrets.token_hex(4)}",
    }
    moto.stop()
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _env(service, local_services, **extra):
    env = service_env(service, local_services["env_file"], local_services["local"])
    # The image's working directory is the checkout; its data directory is writable.
    env["ATELIER_DATA_DIR"] = str(local_services["data_dir"])
    env["CELERY_TASK_DEFAULT_QUEUE"] = local_services["queue"]
    env.update(extra)
    return env


def _start(command, env, log_path):
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process.log_path = log_path  # type: ignore[attr-defined]
    return process


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _manage_py(local_services, script: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=_env("web", local_services),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_web_command_refuses_the_env_example_secret_key(local_services):
    env = _env("web", local_services)
    env["DJANGO_SECRET_KEY"] = dotenv((ROOT / ".env.example").read_text())["DJANGO_SECRET_KEY"]
    port = free_port()
    command = service_command("web", {"0.0.0.0:8000": f"127.0.0.1:{port}"})
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is the placeholder from .env.example" in result.stderr


def test_the_compose_web_and_worker_commands_serve_the_production_shape(local_services):
    data_dir = local_services["data_dir"]
    # What the Dockerfile does at build time.
    collect = subprocess.run(
        [str(BIN / "python"), "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=_env("web", local_services),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stderr[-3000:]
    migrate = subprocess.run(
        service_command("migrate"),
        cwd=ROOT,
        env=_env("migrate", local_services),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    port = free_port()
    web = _start(
        service_command("web", {"0.0.0.0:8000": f"127.0.0.1:{port}"}),
        _env("web", local_services),
        data_dir / "web.log",
    )
    queue = local_services["queue"]
    # The two stages, each on its queue (compose's "atelier" queues made private here).
    queues = {"atelier": queue, "atelier.cpu": f"{queue}.cpu"}
    workers = [
        _start(
            service_command(name, queues) + ["--without-gossip", "--without-mingle"],
            _env(name, local_services),
            data_dir / f"{name}.log",
        )
        for name in ("worker-io", "worker-cpu")
    ]
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                login_page = httpx.get(f"{base}/accounts/login/", timeout=5)
                break
            except httpx.TransportError:
                if web.poll() is not None or time.time() > deadline:
                    raise AssertionError((data_dir / "web.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        assert login_page.status_code == 200 and "Log in" in login_page.text
        assert "uvicorn" in (data_dir / "web.log").read_text().lower()
        # Slow clients (more than there are worker processes) that never finish their
        # request do not starve the site: an event loop waits for them, not a worker.
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
        try:
            for sock in slow:
                sock.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = time.perf_counter()
            assert httpx.get(f"{base}/accounts/login/", timeout=10).status_code == 200
            assert time.perf_counter() - started < 2
        finally:
            for sock in slow:
                sock.close()
        for worker in workers:
            while "ready." not in worker.log_path.read_text():
                assert worker.poll() is None and time.time() < deadline + 60, (
                    worker.log_path.read_text()[-3000:]
                )
                time.sleep(0.3)

        # Three demo images made by the worker, through the queue, into S3.
        password = secrets.token_urlsafe(12)
        _manage_py(
            local_services,
            f"""
from django.contrib.auth import get_user_model
from jobs import services
user = get_user_model().objects.create_user("alice", password={password!r})
for n in range(3):
    services.job_create(user=user, model_name="demo", prompt=f"harbour {{n}}", params={{}})
""",
        )
        deadline = time.time() + 120
        check = (
            "from jobs.models import GenerationJob as J; "
            "print(sorted(J.objects.values_list('status', 'error_code')))"
        )
        while (states := _manage_py(local_services, check).split("\n")[-2]) != str(
            [("succeeded", "")] * 3
        ):
            assert time.time() < deadline, states + "".join(
                w.log_path.read_text()[-3000:] for w in workers
            )
            time.sleep(1)

        with httpx.Client(base_url=base, timeout=30) as browser:
            form = browser.get("/accounts/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
            logged_in = browser.post(
                "/accounts/login/",
                data={"username": "alice", "password": password, "csrfmiddlewaretoken": token},
            )
            assert logged_in.status_code == 302, logged_in.text[-2000:]
            gallery = browser.get("/gallery/")
            assert gallery.status_code == 200
            links = [unescape(s) for s in re.findall(r'<img src="([^"]+)"', gallery.text)]
            assert len(links) == 3, gallery.text[-4000:]
            for link in links:
                assert urlsplit(link).netloc == f"localhost:{local_services['port']}"
                assert httpx.get(link).content[:4] == b"RIFF"
            ids = re.findall(r'name="images" value="(\d+)"', gallery.text)
            assert len(set(ids)) == 3
            with browser.stream(
                "POST",
                "/gallery/bulk/",
                data={
                    "action": "zip",
                    "images": sorted(set(ids)),
                    "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                },
                headers={"Referer": f"{base}/gallery/"},
            ) as download:
                assert download.status_code == 200
                assert download.headers["content-type"] == "application/zip"
                assert "content-length" not in download.headers  # streamed as it is written
                body = b"".join(download.iter_bytes())
        archive = zipfile.ZipFile(io.BytesIO(body))
        assert len(archive.namelist()) == 3 and archive.testzip() is None
    finally:
        _stop(web)
        for worker in workers:
            _stop(worker)
