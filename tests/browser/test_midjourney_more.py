"""More of Midjourney in a real browser, against the worker and the fake proxy: a waiting
card's place in the queue, Shorten's suggestions, Custom Zoom with an edited prompt and
Vary (Region) with a region painted in Atelier's mask editor."""

import pytest
from playwright.sync_api import Page, expect

from jobs.models import GenerationJob
from tests.browser.conftest import JOB_TIMEOUT_MS, screenshot
from tests.browser.test_studio import stroke, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mj_studio(fake_connections, studio) -> Page:
    studio.reload()
    return studio


def by_id(page: Page, locator):
    return page.locator(f"#{locator.get_attribute('id')}")


def test_a_waiting_card_shows_its_place_in_midjourneys_queue(mj_studio):
    page = mj_studio
    submit(page, model="midjourney", prompt="a crowded ferry at rush hour fake:mj_queued:2")
    waiting = page.locator(".job-card", has_text="a crowded ferry").first
    expect(waiting.locator(".progress")).to_have_text(
        "Waiting at Midjourney: number 3 in its queue", timeout=JOB_TIMEOUT_MS
    )
    screenshot(page, "midjourney-queue-position")
    expect(by_id(page, waiting)).to_have_attribute(
        "data-status", "succeeded", timeout=JOB_TIMEOUT_MS
    )


def test_shorten_suggests_shorter_prompts_one_click_from_the_prompt_box(mj_studio):
    page = mj_studio
    page.locator("#id_model").select_option("midjourney")
    long = "a lighthouse on a rocky cliff at dusk, dramatic clouds, oil painting --ar 3:2"
    page.locator("#id_prompt").fill(long)
    page.get_by_role("button", name="Shorten", exact=True).click()
    shortened = page.locator(".job-card", has=page.locator(".kind", has_text="Shorten"))
    expect(shortened).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    suggestions = shortened.get_by_role("button", name="Use this prompt")
    expect(suggestions).to_have_count(3)
    screenshot(page, "midjourney-shorten")
    suggestions.nth(1).click()
    expect(page.locator("#id_prompt")).to_have_value("a lighthouse on")
    # Shorten is offered for Midjourney prompts only.
    page.locator("#id_model").select_option("dall-e-3")
    expect(page.get_by_role("button", name="Shorten", exact=True)).to_be_hidden()


def upscaled_card(page: Page, prompt: str):
    submit(page, model="midjourney", prompt=prompt)
    grid = page.locator(".job-card", has_text=prompt).first
    expect(grid).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    grid = by_id(page, grid)
    # The grid offers no modal buttons; the upscaled image does.
    expect(grid.get_by_role("button", name="Custom Zoom…")).to_have_count(0)
    grid.get_by_role("button", name="U1", exact=True).click()
    upscale = page.locator(".job-card", has=page.locator(".kind", has_text="Action")).first
    expect(upscale).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    return by_id(page, upscale)


def test_custom_zoom_sends_the_prompt_as_edited(mj_studio, fake_connections):
    page = mj_studio
    upscale = upscaled_card(page, "a harbour at night, oil painting")
    upscale.get_by_role("button", name="Custom Zoom…").click()
    dialog = page.get_by_role("dialog", name="Custom Zoom")
    expect(dialog).to_be_visible()
    prompt = dialog.get_by_label("Prompt")
    expect(prompt).to_have_value("a harbour at night, oil painting")
    prompt.fill("a harbour at night, oil painting --zoom 1.5")
    screenshot(page, "midjourney-custom-zoom")
    dialog.get_by_role("button", name="Send to Midjourney").click()
    expect(dialog).to_be_hidden()
    zoom = page.locator(".job-card", has_text="--zoom 1.5").first
    expect(zoom).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    [modal] = [c for c in fake_connections.calls if c.path == "/mj/submit/modal"]
    assert modal.body["prompt"] == "a harbour at night, oil painting --zoom 1.5"


def test_vary_region_sends_the_painted_region_at_the_upscaled_images_size(
    mj_studio, fake_connections
):
    page = mj_studio
    upscale = upscaled_card(page, "a quiet bay with boats")
    upscale.get_by_role("button", name="Vary (Region)…").click()
    editor = page.locator("#mask-editor")
    expect(editor).to_be_visible()
    canvas = editor.locator("#mask-canvas")
    expect(canvas).to_have_attribute("width", "512")
    stroke(page, canvas, (0.2, 0.2), (0.6, 0.5))
    editor.get_by_label("Prompt").fill("a red sailing boat")
    screenshot(page, "midjourney-vary-region")
    editor.get_by_role("button", name="Vary this region").click()
    expect(editor).to_be_hidden()
    varied = page.locator(".job-card", has_text="a red sailing boat").first
    expect(varied).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    [modal] = [c for c in fake_connections.calls if c.path == "/mj/submit/modal"]
    [mask] = modal.files["maskBase64"]
    assert (mask["format"], mask["size"]) == ("PNG", (512, 512))
    assert modal.body["prompt"] == "a red sailing boat"
    child = GenerationJob.objects.get(prompt="a red sailing boat")
    assert child.params["label"] == "Vary (Region)"
