"""Property-based requests from the published schema, in-process (WSGI, no network),
with a full-scope token: whatever the input, the API never answers 5xx."""

import collections
import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.api.conftest import token_client

# Examples per operation; the whole run stays under a minute on a shared 2-core machine.
MAX_EXAMPLES = 10
CALLS: dict = collections.defaultdict(list)


# The schema as served, read once at collection (no database needed for it). pytest 9
# dropped what schemathesis.pytest.from_fixture relies on, hence not a lazy fixture.
# The coverage phase (every boundary of every field, ~1,400 requests) takes minutes here;
# fuzzing with a fixed budget per operation keeps the run to about 300 requests.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}}}
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application(), config=CONFIG)


@pytest.fixture
def in_process(db):
    """As Django's test client does: a request ending must not close the connection that
    holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(alice, settings):
    settings.ATELIER_API_REQUESTS_PER_MINUTE = 100_000
    return {"Authorization": f"Bearer {token_client(alice).raw}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@pytest.mark.usefixtures("fake_connections", "in_process")
def test_no_input_makes_the_api_fail(case, bearer):
    response = case.call_and_validate(headers=bearer, checks=[not_a_server_error])
    CALLS[f"{case.operation.method.upper()} {case.operation.path}"].append(response.status_code)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if path := os.environ.get("ATELIER_SCHEMATHESIS_REPORT"):
        with open(path, "w") as out:
            json.dump(CALLS, out)
