"""Issue 10, item 1: every image link a provider hands us, in every family, goes through the
one guarded fetcher. The fake provider plays the hostile server: redirects to an internal
service, a gzip bomb, a body that drips one byte at a time, a web page, 25 links in a reply."""

from __future__ import annotations

import datetime as dt
import logging
import resource
import socket
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from gallery.models import Image
from jobs import services
from jobs.addresses import address_policy, allow_list_entries
from jobs.models import GenerationJob, ProviderAnswer, ProviderConnection
from jobs.providers.errors import ProviderError
from jobs.providers.fetch import guarded_fetch
from tests.fake_provider import API_KEY, InternalService, png_bytes
from tests.support import bucket_keys, wait_for_job

Status = GenerationJob.Status


@pytest.fixture(scope="module")
def internal_service():
    service = InternalService().start()
    yield service
    service.stop()


@pytest.fixture
def internal(internal_service, fake_provider):
    internal_service.hits = 0
    fake_provider.internal_url = internal_service.url
    fake_provider.hostile_hits.clear()
    return internal_service


def run(job):
    outcome = services.job_run(job_id=job.id)
    job.refresh_from_db()
    return outcome


def chat_job(user, prompt, model="gpt-4-all"):
    job = services.job_create(user=user, model_name=model, prompt=prompt, params={})
    assert job.connection == "fake-chat"
    return job


def assert_nothing_kept(job, s3, internal):
    assert internal.hits == 0
    assert bucket_keys(s3) == []
    assert not Image.objects.filter(job=job).exists()
    answer = ProviderAnswer.objects.filter(job=job).first()
    assert answer is None or all(not item.get("b64_json") for item in answer.items)
    # What the user reads names no internal host, port or body.
    for secret in ("127.0.0.2", str(internal.server.server_address[1]), "AccessKeyId"):
        assert secret not in job.error_message


# -- redirects and addresses ---------------------------------------------------------


def test_a_reply_link_redirecting_to_an_internal_service_is_refused_through_the_worker(
    worker, alice, s3, fake_connections, internal
):
    job = chat_job(alice, "a lighthouse fake:hostile_link:redirect_internal")
    job = wait_for_job(job, timeout=60)
    assert (job.status, job.error_code) == (Status.FAILED, "image_link_refused")
    assert fake_connections.hostile_hits == ["redirect_internal"]
    assert_nothing_kept(job, s3, internal)


def test_the_second_hop_of_a_redirect_chain_is_checked_too(alice, s3, fake_connections, internal):
    job = chat_job(alice, "a harbour fake:hostile_link:redirect_chain")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "image_link_refused")
    assert fake_connections.hostile_hits == ["redirect_chain", "redirect_internal"]
    assert_nothing_kept(job, s3, internal)


def test_an_images_api_url_answer_is_guarded(alice, s3, fake_provider, internal):
    job = services.job_create(
        user=alice,
        model_name="dall-e-2",
        prompt="an owl fake:url_hostile:redirect_internal",
        params={},
    )
    assert job.connection == "openai"
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "image_link_refused")
    assert_nothing_kept(job, s3, internal)


def test_a_midjourney_image_url_is_guarded(alice, s3, fake_connections, internal):
    job = services.job_create(
        user=alice, model_name="midjourney", prompt="a comet fake:mj_hostile", params={}
    )
    run(job)
    for _ in range(5):
        if job.is_finished:
            break
        GenerationJob.objects.filter(id=job.id).update(
            lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "image_link_refused")
    assert_nothing_kept(job, s3, internal)


def test_loopback_is_refused_unless_the_connection_allows_it(alice, s3, fake_provider):
    # The provider's API itself answers from 127.0.0.1; only the download is refused.
    ProviderConnection.objects.create(
        name="strict-chat",
        family="chat_completions",
        base_url=fake_provider.base_url,
        api_key_encrypted=_key(fake_provider.base_url),
        model_names=["gpt-4-all"],
    )
    job = services.job_create(
        user=alice, model_name="gpt-4-all", prompt="a meadow fake:markdown_url", params={}
    )
    assert job.connection == "strict-chat"
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "image_link_refused")
    assert "127.0.0.1" not in job.error_message
    assert bucket_keys(s3) == []

    ProviderConnection.objects.filter(name="strict-chat").update(allowed_networks=["127.0.0.1"])
    again = services.job_create(
        user=alice, model_name="gpt-4-all", prompt="a meadow fake:markdown_url", params={}
    )
    run(again)
    assert again.status == Status.SUCCEEDED, again.error_message
    assert Image.objects.filter(job=again).count() == 1


def _key(base_url: str) -> str:
    from jobs.connections import api_key_encrypt

    try:
        return api_key_encrypt(API_KEY, base_url=base_url)
    except TypeError:
        return api_key_encrypt(API_KEY)


def test_the_connection_goes_to_the_address_that_was_checked(fake_provider, internal, monkeypatch):
    """A rebinding DNS server answers a public-looking check with one address and the
    connection with another; the fetcher looks the name up once and connects there."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])
    lookups = []

    def rebinding(host, port, *args, **kwargs):
        if host == "images.rebind.test":
            lookups.append(host)
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = fake_provider.file_url(png_bytes(32, 32)).replace("127.0.0.1", "images.rebind.test")
    data = guarded_fetch(url, allowed_networks=["127.0.0.1/32"], timeout=5, max_bytes=1 << 20)
    assert data.startswith(b"\x89PNG")
    assert lookups == ["images.rebind.test"]
    assert internal.hits == 0


# -- what a download may cost ----------------------------------------------------------


def test_a_gzip_bomb_is_refused_before_it_inflates(alice, s3, fake_connections, internal):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    job = chat_job(alice, "a dune fake:hostile_link:gzip_bomb")
    run(job)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert (job.status, job.error_code) == (Status.FAILED, "invalid_image")
    assert "compressed" in job.error_message
    assert grown_mb < 50  # the bomb inflates to 200 MB
    assert bucket_keys(s3) == []


def test_a_slow_drip_ends_at_the_total_deadline(alice, s3, fake_connections, settings):
    settings.ATELIER_DOWNLOAD_TIMEOUT = 2
    job = chat_job(alice, "a ferry fake:hostile_link:drip")
    started = time.monotonic()
    outcome = run(job)
    elapsed = time.monotonic() - started
    assert elapsed < 2 + 1.5, elapsed  # one byte every half second would last 80 minutes
    assert (job.status, job.error_code) == (Status.QUEUED, "image_download_timeout")
    assert outcome.retry_in is not None
    assert bucket_keys(s3) == []


def test_a_web_page_is_not_kept_as_an_image(alice, s3, fake_connections):
    job = chat_job(alice, "a pier fake:hostile_link:html")
    run(job)
    assert (job.status, job.error_code) == (Status.FAILED, "invalid_image")
    assert "Sign in" not in job.error_message
    assert bucket_keys(s3) == []


# -- how many images a reply may yield -------------------------------------------------


def test_a_chat_reply_with_25_links_yields_the_models_cap(alice, s3, fake_connections, caplog):
    job = chat_job(alice, "twenty-five kittens fake:many_links:25")
    with caplog.at_level(logging.WARNING, logger="jobs.providers.fetch"):
        run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert Image.objects.filter(job=job).count() == 4
    assert len(ProviderAnswer.objects.get(job=job).items) == 4
    assert job.images_stored == 4
    assert "held 25 images; kept the first 4" in caplog.text


def test_an_images_api_answer_yields_no_more_than_the_job_asked_for(alice, s3, fake_provider):
    job = services.job_create(
        user=alice, model_name="dall-e-2", prompt="an owl fake:url_many:5", params={"n": 2}
    )
    run(job)
    assert job.status == Status.SUCCEEDED, job.error_message
    assert Image.objects.filter(job=job).count() == 2


# -- the allow-list ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "host", "address", "allowed"),
    [
        ([], "cdn.example", "93.184.216.34", True),
        ([], "x", "127.0.0.1", False),
        ([], "x", "10.0.0.5", False),
        ([], "x", "169.254.169.254", False),
        ([], "x", "100.64.0.1", False),
        ([], "x", "::1", False),
        ([], "x", "::ffff:127.0.0.1", False),
        ([], "x", "224.0.1.1", False),
        (["192.168.1.0/24"], "proxy", "192.168.1.20", True),
        (["192.168.1.0/24"], "proxy", "192.168.2.20", False),
        (["proxy.lan"], "Proxy.LAN", "10.9.9.9", True),
        (["proxy.lan"], "other.lan", "10.9.9.9", False),
    ],
)
def test_only_public_addresses_unless_listed(entries, host, address, allowed):
    import ipaddress

    policy = address_policy(entries)
    assert policy.allows(host, ipaddress.ip_address(address)) is allowed


def test_an_allow_list_entry_that_is_no_network_or_name_is_refused():
    assert allow_list_entries("10.0.0.0/8, proxy.lan\n::1") == ["10.0.0.0/8", "proxy.lan", "::1"]
    with pytest.raises(ValueError, match="not an address"):
        allow_list_entries("10.0.0.0/33x")


def test_a_bad_allow_list_in_atelier_connections_stops_start_up(settings, db):
    from jobs.connections import configured_connections

    settings.ATELIER_CONNECTIONS = [
        {
            "name": "lan",
            "family": "chat_completions",
            "base_url": "http://10.0.0.2/v1",
            "api_key": "k",
            "models": ["gpt-4-all"],
            "allowed_networks": ["not a network!"],
        }
    ]
    with pytest.raises(ImproperlyConfigured, match="allowed_networks"):
        configured_connections()


def test_the_admin_edits_a_connections_allow_list(admin_client, db):
    row = ProviderConnection.objects.create(
        name="lan-proxy",
        family="chat_completions",
        base_url="http://10.0.0.2/v1",
        model_names=["gpt-4-all"],
    )
    assert row.allowed_networks == []  # off by default
    url = f"/admin/jobs/providerconnection/{row.pk}/change/"
    page = admin_client.get(url)
    assert b"Private networks its downloads may reach" in page.content
    form = {
        "name": "lan-proxy",
        "family": "chat_completions",
        "base_url": "http://10.0.0.2/v1",
        "model_names": ["gpt-4-all"],
        "enabled": "on",
        "api_key": "sk-lan",
    }
    bad = admin_client.post(url, {**form, "allowed_networks": "10.0.0.0/8\nnot valid!"})
    assert b"not an address, a network or a host name" in bad.content
    admin_client.post(url, {**form, "allowed_networks": "10.0.0.0/8\nproxy.lan"})
    row.refresh_from_db()
    assert row.allowed_networks == ["10.0.0.0/8", "proxy.lan"]


def test_a_refused_link_is_a_provider_error_naming_no_host(fake_provider, internal):
    with pytest.raises(ProviderError) as caught:
        guarded_fetch(internal.url, allowed_networks=(), timeout=5, max_bytes=1 << 20)
    assert caught.value.code == "image_link_refused"
    assert "127.0.0.2" not in caught.value.message
    assert internal.hits == 0
