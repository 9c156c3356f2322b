"""A face swap in a real browser: offered once an administrator enables it on the fake
Midjourney connection, two pictures uploaded in the studio, the card followed to its image."""

import pytest
from playwright.sync_api import expect

from jobs.models import GenerationJob, ProviderConnection
from moderation.models import ModerationEvent
from tests.browser.conftest import JOB_TIMEOUT_MS, screenshot
from tests.browser.test_studio import expect_loaded
from tests.fake_provider import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_swaps_a_face_once_the_connection_allows_it(fake_connections, studio, tmp_path):
    page = studio
    page.reload()
    page.locator("#id_model").select_option("midjourney")
    swap_mode = page.locator('#generate-form [data-kind="swap_face"]')
    expect(page.get_by_text("Blend", exact=True)).to_be_visible()
    expect(swap_mode).to_be_hidden()

    ProviderConnection.objects.filter(name="fake-mj").update(swap_face_enabled=True)
    page.reload()
    page.locator("#id_model").select_option("midjourney")
    expect(swap_mode).to_be_visible()
    swap_mode.click()
    expect(page.locator("#id_prompt")).to_be_hidden()
    expect(page.locator("#id_images")).to_be_hidden()
    face, crowd = tmp_path / "face.png", tmp_path / "crowd.png"
    face.write_bytes(png_bytes(64, 64, seed=1))
    crowd.write_bytes(png_bytes(96, 96, seed=2))
    page.get_by_label("Face to use").set_input_files(str(face))
    page.get_by_label("Picture to put it on").set_input_files(str(crowd))
    screenshot(page, "midjourney-swap-face-mode")
    page.locator("#generate-button").click()

    card = page.locator(".job-card", has=page.locator(".kind", has_text="Face swap"))
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect_loaded(card.locator(".thumb img"))
    expect(card.locator(".thumb img")).to_have_attribute("alt", "Face swap")
    # InsightFace draws from no seed: there is none to fetch.
    expect(card.get_by_role("button", name="Get seed")).to_have_count(0)
    screenshot(page, "midjourney-swap-face-card")

    job = GenerationJob.objects.get(kind=GenerationJob.Kind.SWAP_FACE)
    assert job.images.count() == 1
    assert ModerationEvent.objects.filter(job=job, code="swap_face").count() == 1
    [submit] = [c for c in fake_connections.calls if c.path == "/mj/insight-face/swap"]
    assert submit.files["sourceBase64"][0]["size"] == (64, 64)
    assert submit.files["targetBase64"][0]["size"] == (96, 96)

    # The image page names the mode it was made in.
    card.get_by_role("link", name="Face swap").click()
    expect(page.locator("dd.kind")).to_have_text("Face swap")
