"""A streamed chat reply in a real browser: the card shows the reply's progress lines as the
worker reads them from the fake proxy's stream, then the image once the reply is whole."""

import pytest
from playwright.sync_api import expect

from jobs.models import GenerationJob, ProviderConnection
from tests.browser.conftest import JOB_TIMEOUT_MS, screenshot
from tests.browser.test_studio import expect_loaded, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_chat_model_card_shows_the_streamed_progress_before_the_image(fake_connections, studio):
    ProviderConnection.objects.filter(name="fake-chat").update(stream_replies=True)
    # Longer than the card's one-second poll, so each line is on screen for a while.
    fake_connections.chat_stream_delay = 2.5
    page = studio
    page.reload()
    submit(page, model="stable-diffusion-api", prompt="a lantern festival by the river")
    card = page.locator(".job-card", has_text="a lantern festival by the river").first
    card = page.locator(f"#{card.get_attribute('id')}")
    expect(card.locator(".progress")).to_have_text("生成中 45%", timeout=JOB_TIMEOUT_MS)
    expect(card).to_have_attribute("data-status", "running")
    screenshot(page, "chat-stream-progress")
    expect(card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect(card.locator(".progress")).to_have_count(0)
    expect_loaded(card.locator(".thumb img"))
    [call] = fake_connections.calls_for("a lantern festival")
    assert call.body["stream"] is True
    job = GenerationJob.objects.get(prompt="a lantern festival by the river")
    assert job.images.count() == 1
