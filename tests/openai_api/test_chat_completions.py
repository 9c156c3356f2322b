"""The chat-completion image models (seed 002) through /v1/chat/completions."""

import re

import httpx
import openai
import pytest

from gallery.selectors import ImageQuery, image_search
from jobs.models import GenerationJob

LINK = re.compile(r"!\[[^\]]*\]\((http[^)]+)\)")


def test_a_chat_reply_links_the_archived_image(alice_sdk, alice, fake_connections):
    reply = alice_sdk.chat.completions.create(
        model="stable-diffusion-api",
        messages=[
            {"role": "system", "content": "You draw."},
            {"role": "user", "content": "a watercolour heron"},
        ],
        temperature=0.7,
    )
    content = reply.choices[0].message.content
    (url,) = LINK.findall(content)
    assert httpx.get(url, follow_redirects=True).content[:4] == b"\x89PNG"
    job = GenerationJob.objects.get(owner=alice)
    assert job.provider == "chat_completions" and job.prompt == "a watercolour heron"
    assert image_search(user=alice, query=ImageQuery(q="heron")).images


def test_a_streamed_chat_reply_ends_with_the_link(alice_sdk, fake_connections):
    stream = alice_sdk.chat.completions.create(
        model="stable-diffusion-api",
        messages=[{"role": "user", "content": [{"type": "text", "text": "a paper crane"}]}],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert len(LINK.findall(text)) == 1


def test_a_chat_with_an_images_api_model_is_a_404(alice_sdk, fake_connections):
    with pytest.raises(openai.NotFoundError) as missing:
        alice_sdk.chat.completions.create(
            model="gpt-image-2", messages=[{"role": "user", "content": "hi"}]
        )
    assert "stable-diffusion-api" in missing.value.message
    assert not GenerationJob.objects.exists()
