"""Fault drills with real processes: every job ends, nothing paid for is lost or stored twice.

The drills live in bench/reliability.py (which also prints the table for
docs/reliability.md); here they run in their quick form and their counts are checked.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drills(tmp_path_factory):
    out = tmp_path_factory.mktemp("drills") / "results.json"
    completed = subprocess.run(
        [sys.executable, "bench/reliability.py", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return {row["fault"].split(":")[0]: row for row in json.loads(out.read_text())}


def check_invariants(row):
    assert row["succeeded"] + sum(row["failed"].values()) == row["jobs"], "a job never finished"
    assert row["lost"] == 0
    assert row["duplicates"] == 0
    assert row["paid_calls_per_job"] == [1], "a provider answer was paid for twice"


def test_kill_9_during_the_provider_call_says_unknown_and_never_pays_twice(drills):
    row = drills["kill -9 I/O worker during provider call"]
    check_invariants(row)
    assert row["unknown"] == 2 and row["failed"] == {"worker_lost_unknown_outcome": 2}
    assert row["succeeded"] == 3


def test_kill_9_after_the_answer_resumes_from_the_kept_answer(drills):
    row = drills["kill -9 I/O worker between answer and storage"]
    check_invariants(row)
    assert row["succeeded"] == row["jobs"] == 2
    assert row["provider_calls"] == 2


def test_kill_9_of_the_io_worker_with_many_calls_in_flight_ends_every_job_once(drills):
    row = next(r for name, r in drills.items() if name.startswith("kill -9 I/O worker with"))
    check_invariants(row)
    assert row["jobs"] == 50
    # Every call was in flight when the worker died: each ends unknown, none is sent again.
    assert row["failed"] == {"worker_lost_unknown_outcome": 50}
    assert row["provider_calls"] == 50
    in_flight, connections = (int(word) for word in row["notes"].split() if word.isdigit())
    assert in_flight == 50 and connections < in_flight


def test_kill_9_of_the_cpu_worker_mid_store_resumes_from_the_kept_answer_and_stores_once(drills):
    row = drills["kill -9 CPU worker mid-store"]
    check_invariants(row)
    assert row["succeeded"] == row["jobs"] == 6
    assert row["provider_calls"] == 6  # resumed from the kept answer, never asked again


def test_a_redis_restart_loses_no_job(drills):
    row = drills["Redis restarted and flushed with jobs queued"]
    check_invariants(row)
    assert row["succeeded"] == row["jobs"]


def test_an_s3_outage_delays_but_loses_nothing(drills):
    row = next(r for name, r in drills.items() if name.startswith("S3 down"))
    check_invariants(row)
    assert row["succeeded"] == row["jobs"]
    assert row["provider_calls"] == row["jobs"]


def test_a_storm_of_provider_errors_ends_each_job_for_its_own_reason(drills):
    row = drills["storm"]
    check_invariants(row)
    assert row["succeeded"] == 2  # the 429 and the 500 that cleared up
    assert row["failed"] == {
        "bad_response": 1,
        "image_url_expired": 1,
        "invalid_image": 1,
        "provider_unavailable": 1,
        "timeout_unknown_outcome": 1,
    }


def test_a_duplicated_message_runs_the_job_once(drills):
    row = drills["the same job message delivered twice"]
    check_invariants(row)
    assert row["provider_calls"] == row["jobs"]


def test_500_jobs_at_once_all_finish_once(drills):
    row = drills["500 jobs submitted at once"]
    check_invariants(row)
    assert row["succeeded"] == 500
    assert row["provider_calls"] == 500
