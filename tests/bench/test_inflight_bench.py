"""bench/inflight.py reads what docker-compose.yml ships; these keep that reading honest
without running the benchmark (it runs by hand, see docs/benchmarks.md). No timings."""

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "inflight.py"


@pytest.fixture(scope="module")
def inflight():
    spec = importlib.util.spec_from_file_location("inflight_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_staged_shape_is_every_celery_worker_compose_ships(inflight):
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    shipped = {
        name: spec["command"]
        for name, spec in services.items()
        if "worker" in (spec.get("command") or []) and spec["command"][0] == "celery"
    }

    workers = inflight.compose_workers()

    assert workers == shipped
    assert {"worker-io", "worker-cpu"} <= set(workers)
    assert "gevent" in workers["worker-io"]


def test_the_baseline_is_one_prefork_pool_serving_every_stage_queue(inflight):
    workers = inflight.compose_workers()

    baseline = inflight.baseline_workers(workers)["worker"]

    queues = baseline[baseline.index("-Q") + 1].split(",")
    assert set(queues) == set(inflight.worker_queues(workers))
    assert len(queues) >= 2
    assert "-P" not in baseline and "gevent" not in baseline


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("cost $$5", {}, "cost $5"),
    ],
)
def test_compose_variables_are_filled_as_compose_fills_them(inflight, text, env, expected):
    assert inflight.interpolate(text, env) == expected


def test_a_required_variable_left_unset_is_refused(inflight):
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        inflight.interpolate("${POSTGRES_PASSWORD:?set it}", {})


def test_each_worker_gets_its_compose_environment_with_local_services(inflight):
    services = inflight.compose_services()
    env_file = inflight.env_file_filled()
    local = {"redis://redis:6379/0": "redis://127.0.0.1:6390/0"}

    env = inflight.service_env(services["worker-io"], env_file, local)

    assert env["DATABASE_CONN_MAX_AGE"] == "0"
    assert env["CELERY_BROKER_URL"] == "redis://127.0.0.1:6390/0"
    assert not any(value.startswith("REPLACE") for value in env.values())


def test_the_table_sets_the_shapes_side_by_side(inflight):
    results = [
        inflight.ShapeResult(shape="baseline", commands=["celery a"], jobs=10, peak_in_flight=4),
        inflight.ShapeResult(shape="staged", commands=["celery b"], jobs=10, peak_in_flight=10),
    ]

    table = inflight.format_table(results, latency=(1.0, 2.0), window=5.0)

    assert "| | baseline | staged |" in table
    assert "| peak provider calls in flight | 4 | 10 |" in table


def test_cpu_is_shown_per_job_by_process_and_for_the_machine(inflight, monkeypatch):
    monkeypatch.setattr(inflight.os, "cpu_count", lambda: 2)
    result = inflight.ShapeResult(shape="staged", commands=["celery b"], jobs=10, succeeded=10)
    result.cpu_seconds = {
        "worker-cpu": 0.4,
        "PostgreSQL": 0.1,
        "machine": 3.0,
        "machine (all cores)": 10.0,  # 5 s of wall time on 2 cores
    }
    result.pg_sessions = 7

    table = inflight.format_table([result], latency=(1.0, 2.0), window=5.0)

    assert "| CPU per job succeeded, by process | worker-cpu 40 ms, PostgreSQL 10 ms |" in table
    assert "| machine CPU busy, and per job succeeded | 60% of 200%, 300 ms a job |" in table
    assert "| PostgreSQL connections opened (workers) | 7 |" in table


def test_the_meter_counts_exited_children_of_postgresql(inflight):
    import subprocess
    import sys

    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "pid = os.fork()\n"
            "if pid == 0:\n    t = time.process_time()\n"
            "    while time.process_time() - t < 0.3: pass\n    os._exit(0)\n"
            "os.waitpid(pid, 0)\nsys.stdout.write('reaped\\n'); sys.stdout.flush()\ntime.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout.readline() == "reaped\n"
        assert inflight.cpu_seconds([parent.pid]) < 0.25
        assert inflight.cpu_seconds([parent.pid], reaped=True) >= 0.3
    finally:
        parent.kill()
        parent.wait()
