"""A storage read that fails while running a job is counted for the worker's metrics."""

import socket

import pytest

from jobs import services
from jobs.observability import STORAGE_ERRORS

pytestmark = pytest.mark.django_db


def test_a_failed_input_read_counts_a_storage_error(s3, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    storages = {**settings.STORAGES}
    options = {**storages["default"]["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{port}"}
    storages["default"] = {**storages["default"], "OPTIONS": options}
    settings.STORAGES = storages
    before = STORAGE_ERRORS.labels("read")._value.get()
    with pytest.raises(services.StorageUnavailable):
        services._read_input("inputs/some-job/0.png")
    assert STORAGE_ERRORS.labels("read")._value.get() == before + 1
