"""Workers keep a database connection across tasks as web requests do (config/celery.py):
closed when it broke or outlived CONN_MAX_AGE, kept otherwise; never touched for a task run
inline inside its caller's transaction. The real workers' count of connections opened is
asserted in tests/reliability/test_inflight.py."""

from __future__ import annotations

import time
import types

import pytest
from celery import signals
from django.db import connection

from config.celery import _database_connections_tidy


def task(*, eager: bool = False):
    return types.SimpleNamespace(request=types.SimpleNamespace(is_eager=eager))


@pytest.fixture
def open_connection(transactional_db):
    connection.ensure_connection()
    yield connection
    connection.close()


def test_a_healthy_connection_is_kept_across_tasks(open_connection):
    raw = open_connection.connection
    open_connection.close_at = time.monotonic() + 60

    _database_connections_tidy(signal=signals.task_postrun, task=task())
    _database_connections_tidy(signal=signals.task_prerun, task=task())

    assert open_connection.connection is raw


def test_a_connection_past_its_max_age_is_closed_after_the_task(open_connection):
    open_connection.close_at = time.monotonic() - 1

    _database_connections_tidy(signal=signals.task_postrun, task=task())

    assert open_connection.connection is None


def test_a_connection_that_broke_is_closed(open_connection):
    open_connection.close_at = time.monotonic() + 60
    open_connection.connection.close()  # as a PostgreSQL restart leaves it
    open_connection.errors_occurred = True

    _database_connections_tidy(signal=signals.task_postrun, task=task())

    assert open_connection.connection is None


def test_an_eager_task_leaves_its_callers_connection_alone(open_connection):
    open_connection.close_at = time.monotonic() - 1

    _database_connections_tidy(signal=signals.task_postrun, task=task(eager=True))

    assert open_connection.connection is not None


def test_under_gevent_a_tasks_connections_close_when_it_ends(open_connection, monkeypatch):
    monkeypatch.setattr("config.celery.under_gevent", lambda: True)
    open_connection.close_at = time.monotonic() + 60

    _database_connections_tidy(signal=signals.task_prerun, task=task())
    assert open_connection.connection is not None
    _database_connections_tidy(signal=signals.task_postrun, task=task())
    assert open_connection.connection is None
