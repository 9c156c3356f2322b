"""Midjourney in a real browser: the worker polls the fake proxy; buttons and modes."""

import pytest
from playwright.sync_api import Page, expect

from jobs.models import GenerationJob
from tests.browser.conftest import JOB_TIMEOUT_MS, SCREENSHOTS, screenshot
from tests.browser.test_studio import expect_loaded, submit
from tests.fake_provider import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def kind_card(page: Page, kind: str):
    return page.locator(".job-card", has=page.locator(".kind", has_text=kind))


@pytest.fixture
def mj_studio(fake_connections, studio) -> Page:
    """The studio once the Midjourney connection exists, so the picker offers it."""
    studio.reload()
    return studio


def test_it_upscales_a_midjourney_grid_with_its_u1_button(mj_studio, fake_connections):
    page = mj_studio
    submit(page, model="midjourney", prompt="a paper boat on a pond at dawn")
    grid = page.locator(".job-card", has_text="a paper boat on a pond").first
    expect(grid).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    grid = page.locator(f"#{grid.get_attribute('id')}")
    buttons = grid.locator(".mj-buttons").get_by_role("button")
    expect(buttons).to_have_count(9)
    expect(grid.get_by_role("button", name="U1", exact=True)).to_be_visible()
    expect(grid.get_by_role("button", name="Reroll")).to_be_visible()
    expect_loaded(grid.locator(".thumb img"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    grid.screenshot(path=str(SCREENSHOTS / "midjourney-card.png"))

    grid.get_by_role("button", name="U1", exact=True).click()
    upscale = kind_card(page, "Action")
    expect(upscale).to_have_count(1)
    expect(upscale).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect_loaded(upscale.locator(".thumb img"))
    expect(upscale.get_by_role("button", name="Upscale (Subtle)")).to_be_visible()

    child = GenerationJob.objects.get(kind=GenerationJob.Kind.ACTION)
    assert child.parent.prompt == "a paper boat on a pond at dawn"
    assert child.params["label"] == "U1"
    [action] = [c for c in fake_connections.calls if c.path == "/mj/submit/action"]
    assert action.body == {
        "taskId": child.parent.provider_task_id,
        "customId": child.params["custom_id"],
    }


def test_it_describes_an_image_and_reuses_a_suggested_prompt(mj_studio, tmp_path):
    page = mj_studio
    page.locator("#id_model").select_option("dall-e-3")
    expect(page.locator('#generate-form [data-field="kind"]')).to_be_hidden()
    page.locator("#id_model").select_option("midjourney")
    expect(page.get_by_text("Blend", exact=True)).to_be_visible()
    page.get_by_text("Describe", exact=True).click()
    expect(page.locator("#id_prompt")).to_be_hidden()
    expect(page.locator("#images-rule")).to_have_text("1 image")
    upload = tmp_path / "lighthouse.png"
    upload.write_bytes(png_bytes(96, 96))
    page.locator("#id_images").set_input_files(str(upload))
    screenshot(page, "midjourney-describe-mode")
    page.get_by_role("button", name="Describe", exact=True).click()

    described = kind_card(page, "Describe")
    expect(described).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect(described.get_by_role("button", name="Use this prompt")).to_have_count(2)
    described.get_by_role("button", name="Use this prompt").first.click()
    expect(page.locator("#id_prompt")).to_be_visible()
    expect(page.locator("#id_prompt")).to_have_value(
        "a lighthouse on a cliff at dusk, oil painting --ar 1:1"
    )
    expect(page.locator('input[name="kind"][value="generate"]')).to_be_checked()
    expect(page.locator("#generate-button")).to_have_text("Generate")
    screenshot(page, "midjourney-described")
