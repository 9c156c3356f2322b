"""Held requests, their limit, and why retries never pay twice."""

import time

import openai
import pytest

from jobs.models import GenerationJob
from openai_api.models import IdempotencyKey
from tests.openai_api.conftest import sdk, token_for
from tests.support import wait_for_job


def test_a_held_request_that_times_out_is_retried_by_the_sdk_into_one_job(
    live, alice, fake_provider
):
    # Each attempt gives up after 2.5 s; the provider takes 5 s. The SDK's own retries
    # (two, its default) send the same body again, which joins the first attempt's job.
    client = sdk(live, token_for(alice), timeout=2.5)
    started = time.monotonic()
    answer = client.images.generate(model="gpt-image-2", prompt="fake:slow:5 a slow glacier")
    assert time.monotonic() - started > 5
    assert answer.data[0].b64_json
    assert GenerationJob.objects.filter(owner=alice).count() == 1
    assert len(fake_provider.calls_for("a slow glacier")) == 1
    assert IdempotencyKey.objects.get().derived


def test_the_hold_limit_answers_with_the_job_id_and_a_repeat_gets_its_images(
    live, alice, settings, fake_provider
):
    settings.ATELIER_API_HOLD_SECONDS = 1
    client = sdk(live, token_for(alice), max_retries=0)
    with pytest.raises(openai.InternalServerError) as late:
        client.images.generate(model="gpt-image-2", prompt="fake:slow:3 a patient owl")
    job = GenerationJob.objects.get(owner=alice)
    assert late.value.status_code == 504
    assert late.value.code == "job_still_running"
    assert late.value.body["job_id"] == str(job.id)
    assert late.value.response.headers["x-atelier-job-id"] == str(job.id)
    wait_for_job(job)
    again = client.images.with_raw_response.generate(
        model="gpt-image-2", prompt="fake:slow:3 a patient owl"
    )
    assert again.headers["x-atelier-job-id"] == str(job.id)
    assert again.parse().data[0].b64_json
    assert GenerationJob.objects.count() == 1


def test_a_repeated_idempotency_key_answers_with_the_first_job(alice_sdk, alice):
    first = alice_sdk.images.with_raw_response.generate(
        model="gpt-image-2", prompt="a kite", extra_headers={"Idempotency-Key": "kite-1"}
    )
    second = alice_sdk.images.with_raw_response.generate(
        model="gpt-image-2", prompt="a kite", extra_headers={"Idempotency-Key": "kite-1"}
    )
    assert first.headers["x-atelier-job-id"] == second.headers["x-atelier-job-id"]
    assert first.parse().data[0].b64_json == second.parse().data[0].b64_json
    fresh = alice_sdk.images.with_raw_response.generate(
        model="gpt-image-2", prompt="a kite", extra_headers={"Idempotency-Key": "kite-2"}
    )
    assert fresh.headers["x-atelier-job-id"] != first.headers["x-atelier-job-id"]
    assert GenerationJob.objects.filter(owner=alice).count() == 2


def test_a_key_reused_for_another_request_is_refused(alice_sdk):
    alice_sdk.images.generate(
        model="gpt-image-2", prompt="a kite", extra_headers={"Idempotency-Key": "k"}
    )
    with pytest.raises(openai.BadRequestError) as reused:
        alice_sdk.images.generate(
            model="gpt-image-2", prompt="a boat", extra_headers={"Idempotency-Key": "k"}
        )
    assert reused.value.code == "idempotency_key_reused"
    assert reused.value.response.headers["x-should-retry"] == "false"


def test_charlie_reusing_alices_key_and_body_gets_his_own_job(live, alice, charlie):
    alices = sdk(live, token_for(alice)).images.with_raw_response.generate(
        model="gpt-image-2", prompt="a secret garden", extra_headers={"Idempotency-Key": "s"}
    )
    charlies = sdk(live, token_for(charlie)).images.with_raw_response.generate(
        model="gpt-image-2", prompt="a secret garden", extra_headers={"Idempotency-Key": "s"}
    )
    alice_job = alices.headers["x-atelier-job-id"]
    charlie_job = charlies.headers["x-atelier-job-id"]
    assert alice_job != charlie_job
    assert GenerationJob.objects.get(id=charlie_job).owner == charlie
    assert GenerationJob.objects.get(id=alice_job).owner == alice
    # Without a key the same body is also charlie's own request, not a way into alice's.
    sdk(live, token_for(alice)).images.generate(model="gpt-image-2", prompt="same words")
    reply = sdk(live, token_for(charlie)).images.with_raw_response.generate(
        model="gpt-image-2", prompt="same words"
    )
    assert GenerationJob.objects.get(id=reply.headers["x-atelier-job-id"]).owner == charlie


def test_a_failed_job_answers_without_retries_and_a_later_request_tries_again(
    live, alice, fake_provider
):
    client = sdk(live, token_for(alice))
    with pytest.raises(openai.APIStatusError) as failed:
        client.images.generate(model="gpt-image-2", prompt="fake:invalid_model again")
    assert failed.value.response.headers["x-should-retry"] == "false"
    assert failed.value.body["job_id"]
    assert len(fake_provider.calls_for("fake:invalid_model again")) == 1
    with pytest.raises(openai.APIStatusError):
        client.images.generate(model="gpt-image-2", prompt="fake:invalid_model again")
    assert GenerationJob.objects.filter(owner=alice).count() == 2


def test_without_derived_keys_every_request_is_a_new_job(live, alice, settings):
    settings.ATELIER_API_DERIVED_KEY_SECONDS = 0
    client = sdk(live, token_for(alice))
    client.images.generate(model="gpt-image-2", prompt="twice on purpose")
    client.images.generate(model="gpt-image-2", prompt="twice on purpose")
    assert GenerationJob.objects.filter(owner=alice).count() == 2
    assert not IdempotencyKey.objects.exists()


def test_charlie_cannot_reach_alices_edit_through_her_key(live, alice, charlie):
    from tests.fake_provider import png_bytes

    upload = ("a.png", png_bytes(64, 64), "image/png")
    headers = {"Idempotency-Key": "edit-1"}
    mine = sdk(live, token_for(alice)).images.with_raw_response.edit(
        model="gpt-image-2", image=upload, prompt="paint it blue", extra_headers=headers
    )
    his = sdk(live, token_for(charlie)).images.with_raw_response.edit(
        model="gpt-image-2", image=upload, prompt="paint it blue", extra_headers=headers
    )
    assert mine.headers["x-atelier-job-id"] != his.headers["x-atelier-job-id"]
    assert GenerationJob.objects.get(id=his.headers["x-atelier-job-id"]).owner == charlie
