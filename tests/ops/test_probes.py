"""/healthz, /readyz with each dependency down, and who may read /metrics."""

import socket

import pytest

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_it_answers_healthz_without_touching_any_dependency(
    client, settings, django_assert_num_queries
):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_broker_and_storage_answer(client, s3):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert {name for name, check in body["checks"].items() if check["ok"]} == {
        "database",
        "broker",
        "storage",
    }


def test_readyz_names_the_database_when_it_does_not_answer(client, s3, settings):
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "PORT": closed_port()},
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert response.json()["checks"]["database"]["error"] == "OperationalError"


def test_readyz_names_the_broker_when_redis_does_not_answer(client, s3, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_readyz_names_the_storage_when_s3_does_not_answer(client, s3, settings):
    storages = {**settings.STORAGES}
    options = {
        **storages["default"]["OPTIONS"],
        "endpoint_url": f"http://127.0.0.1:{closed_port()}",
    }
    storages["default"] = {**storages["default"], "OPTIONS": options}
    settings.STORAGES = storages
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


def test_readyz_gives_up_on_a_dependency_that_hangs(client, s3, settings):
    # A socket that accepts connections and never answers: Redis that hangs.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        settings.ATELIER_READYZ_TIMEOUT = 1
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]


def test_probes_answer_any_host_over_plain_http(client, s3, settings):
    # Docker's healthcheck and Prometheus come by container address, not the public name.
    settings.ALLOWED_HOSTS = ["atelier.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/gallery/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_metrics_are_refused_when_neither_a_token_nor_an_allow_list_is_set(client, settings):
    settings.ATELIER_METRICS_TOKEN = ""
    settings.ATELIER_METRICS_ALLOW = []
    assert client.get("/metrics").status_code == 403


def test_metrics_want_the_bearer_token(client, settings):
    settings.ATELIER_METRICS_TOKEN = "s3cret-scrape-token"
    settings.ATELIER_METRICS_ALLOW = []
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 401
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert right.status_code == 200
    assert b"atelier_jobs" in right.content


def test_metrics_answer_an_address_in_the_allow_list_and_refuse_others(client, settings):
    from ops.access import parse_networks

    settings.ATELIER_METRICS_TOKEN = ""
    settings.ATELIER_METRICS_ALLOW = parse_networks(["10.1.0.0/16"])
    assert client.get("/metrics", REMOTE_ADDR="10.1.4.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
