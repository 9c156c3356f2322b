"""Edits, variations, streaming, refusals and tokens, through the official SDK."""

import base64
import io
import time

import httpx
import openai
import pytest
from PIL import Image as PILImage

from api.services import token_revoke
from gallery.models import Image
from gallery.selectors import ImageQuery, image_search
from jobs.models import GenerationJob
from moderation.models import Quota
from tests.fake_provider import png_bytes
from tests.openai_api.conftest import sdk, token_for


def _mask(size: int) -> bytes:
    mask = PILImage.new("RGBA", (size, size), (0, 0, 0, 255))
    for x in range(size // 2):
        for y in range(size // 2):
            mask.putpixel((x, y), (0, 0, 0, 0))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def test_it_edits_an_uploaded_image_with_a_mask(alice_sdk, alice, fake_provider):
    answer = alice_sdk.images.edit(
        model="gpt-image-2",
        image=("harbour.png", png_bytes(256, 256), "image/png"),
        mask=("mask.png", _mask(256), "image/png"),
        prompt="add a full moon over the harbour",
    )
    assert PILImage.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json))).size
    (call,) = [c for c in fake_provider.calls if c.path == "/v1/images/edits"]
    assert call.files["image"][0]["size"] == (256, 256)
    assert call.files["mask"][0]["size"] == (256, 256)
    job = GenerationJob.objects.get(owner=alice)
    assert job.kind == "edit" and job.mask_key
    page = image_search(user=alice, query=ImageQuery(q="moon harbour"))
    assert [image.job_id for image in page.images] == [job.id]


def test_it_makes_variations_answered_as_links(alice_sdk, alice):
    answer = alice_sdk.images.create_variation(
        model="dall-e-2", image=("cat.png", png_bytes(128, 128), "image/png"), n=2
    )
    assert len(answer.data) == 2 and all(item.url for item in answer.data)
    assert httpx.get(answer.data[1].url, follow_redirects=True).content[:4] == b"\x89PNG"
    assert GenerationJob.objects.get(owner=alice).kind == "variation"


def test_it_streams_partial_images_then_the_final_one(alice_sdk, alice, paced_stream):
    stream = alice_sdk.images.generate(
        model="gpt-image-2", prompt="a fox in the snow", stream=True, partial_images=2
    )
    events = list(stream)
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [event.partial_image_index for event in events[:2]] == [0, 1]
    final = PILImage.open(io.BytesIO(base64.b64decode(events[-1].b64_json)))
    assert final.size == (1024, 1024)
    assert events[-1].usage.total_tokens == 4210
    assert image_search(user=alice, query=ImageQuery(q="fox")).images


def test_an_edit_streams_image_edit_events(alice_sdk, paced_stream):
    stream = alice_sdk.images.edit(
        model="gpt-image-2",
        image=("a.png", png_bytes(128, 128), "image/png"),
        prompt="make it autumn",
        stream=True,
        partial_images=1,
    )
    types = [event.type for event in stream]
    assert types == ["image_edit.partial_image", "image_edit.completed"]


def test_a_quota_refusal_raises_rate_limit_error_at_once(alice_sdk, alice, fake_provider):
    Quota.objects.create(user=alice, daily_images=0)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as refused:
        alice_sdk.images.generate(model="gpt-image-2", prompt="anything")
    assert refused.value.code == "insufficient_quota"
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert int(refused.value.response.headers["Retry-After"]) > 0
    assert time.monotonic() - started < 2  # not retried: waiting does not lift a quota
    assert not GenerationJob.objects.exists() and not fake_provider.calls


def test_the_per_minute_limit_is_rate_limit_exceeded_with_retry_after(
    live, alice, settings, fake_provider
):
    settings.ATELIER_RATE_LIMIT_JOBS_PER_MINUTE = 1
    client = sdk(live, token_for(alice), max_retries=0)
    client.images.generate(model="gpt-image-2", prompt="first")
    with pytest.raises(openai.RateLimitError) as refused:
        client.images.generate(model="gpt-image-2", prompt="second")
    assert refused.value.code == "rate_limit_exceeded"
    assert 0 < int(refused.value.response.headers["Retry-After"]) <= 60
    assert GenerationJob.objects.count() == 1


def test_a_revoked_token_raises_authentication_error(live, alice):
    raw = token_for(alice)
    client = sdk(live, raw)
    assert client.models.list().data
    from api.models import AccessToken

    token_revoke(token=AccessToken.objects.get(user=alice), by=alice)
    with pytest.raises(openai.AuthenticationError):
        client.images.generate(model="gpt-image-2", prompt="after revoking")
    with pytest.raises(openai.AuthenticationError):
        sdk(live, "atl_not-a-token").models.list()
    assert not GenerationJob.objects.exists()


def test_a_read_only_token_cannot_make_anything(live, alice):
    client = sdk(live, token_for(alice, "read"))
    assert "gpt-image-2" in {model.id for model in client.models.list()}
    with pytest.raises(openai.PermissionDeniedError):
        client.images.generate(model="gpt-image-2", prompt="no")
    with pytest.raises(openai.PermissionDeniedError):
        client.images.edit(model="gpt-image-2", image=("a.png", png_bytes(64, 64)), prompt="no")
    with pytest.raises(openai.PermissionDeniedError):
        client.images.create_variation(model="dall-e-2", image=("a.png", png_bytes(64, 64)))
    assert not GenerationJob.objects.exists()


def test_a_bad_request_is_invalid_request_error_naming_the_param(alice_sdk):
    with pytest.raises(openai.BadRequestError) as bad:
        alice_sdk.images.generate(model="dall-e-3", prompt="two please", n=2)
    assert bad.value.param == "n" and bad.value.type == "invalid_request_error"
    assert "exactly one image" in bad.value.message
    with pytest.raises(openai.BadRequestError) as unknown:
        alice_sdk.images.generate(model="gpt-image-2", prompt="x", extra_body={"colour": "red"})
    assert unknown.value.code == "unknown_parameter"
    with pytest.raises(openai.NotFoundError) as missing:
        alice_sdk.images.generate(model="no-such-model", prompt="x")
    assert missing.value.code == "model_not_found"
    assert not GenerationJob.objects.exists()


def test_a_blocked_prompt_is_a_content_policy_violation(alice_sdk):
    from moderation.models import BlockedTerm

    BlockedTerm.objects.create(pattern="forbidden")
    with pytest.raises(openai.BadRequestError) as refused:
        alice_sdk.images.generate(model="gpt-image-2", prompt="something forbidden")
    assert refused.value.code == "content_policy_violation"


def test_stored_images_keep_their_prompt_for_search(alice_sdk, alice):
    alice_sdk.images.generate(model="gpt-image-2", prompt="an orange submarine")
    alice_sdk.images.generate(model="gpt-image-2", prompt="a green tram")
    page = image_search(user=alice, query=ImageQuery(q="submarine"))
    assert [image.prompt for image in page.images] == ["an orange submarine"]
    assert Image.objects.filter(owner=alice).count() == 2


def test_a_team_token_puts_its_images_in_the_team_library(live, alice, bob):
    from teams.services import team_create

    team = team_create(user=alice, name="Studio")
    client = sdk(live, token_for(alice, "generate", team=team))
    client.images.generate(model="gpt-image-2", prompt="a team poster")
    image = Image.objects.get(owner=alice)
    assert image.team == team
    page = image_search(user=alice, query=ImageQuery(q="poster"), team=team)
    assert [found.id for found in page.images] == [image.id]


def test_an_expired_or_forged_image_link_is_a_404(alice_sdk, settings):
    answer = alice_sdk.images.generate(
        model="dall-e-3", prompt="a short-lived link", response_format="url"
    )
    assert httpx.get(answer.data[0].url).status_code == 302
    forged = answer.data[0].url[:-3] + "abc"
    assert httpx.get(forged).json()["error"]["code"] == "link_expired"
    settings.ATELIER_API_IMAGE_URL_SECONDS = -1
    assert httpx.get(answer.data[0].url).status_code == 404


def test_models_lists_what_the_connections_offer(alice_sdk):
    names = {model.id for model in alice_sdk.models.list()}
    assert {"gpt-image-2", "dall-e-2", "dall-e-3"} <= names
