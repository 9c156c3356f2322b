"""The prompt studio in a real browser on the real pipeline: web, worker, fake provider, S3."""

import io
import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image as PILImage
from playwright.sync_api import Page, expect

from gallery.models import Image
from jobs.models import GenerationJob
from jobs.registry import get_model
from tests.browser.conftest import DESKTOP, JOB_TIMEOUT_MS, PHONE, screenshot
from tests.factories import UserFactory
from tests.fake_provider import FakeImageProvider, image_info

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field(page: Page, name: str):
    return page.locator(f'#generate-form [data-field="{name}"]')


def option_values(page: Page, selector: str) -> list[str]:
    return page.locator(selector).evaluate("el => [...el.options].map(o => o.value)")


def submit(page: Page, *, model: str, prompt: str, **controls) -> None:
    page.locator("#id_model").select_option(model)
    for name, value in controls.items():
        control = page.locator(f"#id_{name}")
        if control.evaluate("el => el.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(str(value))
    page.locator("#id_prompt").fill(prompt)
    page.locator("#id_prompt").press("Control+Enter")


def card(page: Page, text: str):
    return page.locator(".job-card", has_text=text)


def wait_until_done(page: Page, text: str):
    job_card = card(page, text)
    expect(job_card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    return job_card


def expect_loaded(image) -> None:
    expect(image).to_be_visible()
    image.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )


def registry_error(model: str, field_name: str, **params) -> str:
    try:
        get_model(model).clean(prompt="a prompt", params=params)
    except ValidationError as error:
        return error.message_dict[field_name][0]
    raise AssertionError("the registry accepted what the test expected it to refuse")


def test_it_offers_only_the_controls_each_model_takes(studio):
    page = studio
    page.locator("#id_model").select_option("dall-e-3")
    dalle3 = get_model("dall-e-3")
    expect(field(page, "style")).to_be_visible()
    expect(field(page, "quality")).to_be_visible()
    for hidden in ("background", "output_format", "output_compression", "n", "partial_images"):
        expect(field(page, hidden)).to_be_hidden()
    assert option_values(page, "#size-options") == list(dalle3.sizes)
    assert option_values(page, "#id_style") == ["", *dalle3.styles]
    expect(page.locator("#id_size")).to_have_value(dalle3.default_size)
    expect(page.locator("#prompt-counter")).to_have_text(f"0 / {dalle3.prompt_max_chars:,}")

    page.locator("#id_model").select_option("gpt-image-1.5")
    gpt = get_model("gpt-image-1.5")
    for shown in ("background", "output_format", "output_compression", "n", "partial_images"):
        expect(field(page, shown)).to_be_visible()
    expect(field(page, "style")).to_be_hidden()
    assert option_values(page, "#id_quality") == ["", *gpt.qualities]
    assert option_values(page, "#id_background") == ["", *gpt.backgrounds]
    expect(page.locator("#prompt-counter")).to_have_text(f"0 / {gpt.prompt_max_chars:,}")

    page.locator("#id_model").select_option("dall-e-3")
    page.locator("#id_prompt").fill("x" * (dalle3.prompt_max_chars + 1))
    expect(page.locator("#prompt-counter")).to_have_class(re.compile(r"\bover\b"))


def test_it_generates_without_reloading_and_shows_the_thumbnail(studio, fake_provider):
    page = studio
    page.evaluate("window.sameDocument = true")
    submit(page, model="gpt-image-1.5", prompt="a paper boat on a pond", size="1024x1024")
    expect(card(page, "a paper boat")).to_be_visible()
    job_card = wait_until_done(page, "a paper boat")
    expect_loaded(job_card.locator(".thumb img"))
    assert page.evaluate("window.sameDocument") is True
    [call] = fake_provider.calls_for("a paper boat")
    assert call.body["model"] == "gpt-image-1.5" and call.body["size"] == "1024x1024"
    expect(page.locator("#id_prompt")).to_be_focused()
    page.get_by_text("Prompt history").click()
    expect(page.locator(".history-item", has_text="a paper boat")).to_be_visible()

    submit(page, model="dall-e-3", prompt="a lantern festival over a river", style="vivid")
    expect_loaded(wait_until_done(page, "lantern festival").locator(".thumb img"))
    screenshot(page, "studio-desktop")
    page.set_viewport_size(PHONE)
    expect(page.locator("#generate-button")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the studio scrolls sideways on a phone"
    screenshot(page, "studio-phone")


def test_it_shows_a_running_job_and_cancels_it(studio):
    page = studio
    submit(page, model="dall-e-3", prompt="a snail crossing a bridge fake:slow:6")
    job_card = card(page, "a snail crossing")
    expect(job_card).to_have_attribute("data-status", "running", timeout=JOB_TIMEOUT_MS)
    expect(job_card.locator(".badge")).to_have_text("Running")
    expect(job_card.locator(".progress")).not_to_be_empty()
    job_card.get_by_role("button", name="Cancel").click()
    expect(job_card).to_have_attribute("data-status", "cancelled")
    expect(job_card.get_by_role("button", name="Retry")).to_be_visible()
    job = GenerationJob.objects.get(prompt__contains="a snail crossing")
    assert job.status == GenerationJob.Status.CANCELLED


def test_it_explains_a_failure_and_retries_it(studio):
    page = studio
    submit(page, model="dall-e-3", prompt="a forbidden orchard fake:content_policy_violation")
    job_card = card(page, "a forbidden orchard")
    expect(job_card).to_have_attribute("data-status", "failed", timeout=JOB_TIMEOUT_MS)
    failed = GenerationJob.objects.get(prompt__contains="a forbidden orchard")
    assert failed.error_message
    expect(job_card.locator(".error")).to_have_text(failed.error_message)

    job_card.get_by_role("button", name="Retry").click()
    expect(card(page, "a forbidden orchard")).to_have_count(2)
    retry = GenerationJob.objects.get(parent=failed)
    assert (retry.model, retry.prompt, retry.params) == (failed.model, failed.prompt, failed.params)
    expect(page.locator(f"#job-{retry.id}")).to_have_attribute(
        "data-status", "failed", timeout=JOB_TIMEOUT_MS
    )


def test_it_shows_the_servers_validation_message_beside_the_field(studio):
    page = studio
    submit(page, model="dall-e-3", prompt="a tiny stamp", size="100x100")
    expected = registry_error("dall-e-3", "size", size="100x100")
    expect(field(page, "size").locator(".errorlist")).to_have_text(expected)
    expect(page.locator(".job-card")).to_have_count(0)
    assert not GenerationJob.objects.exists()


def test_it_remixes_an_image_into_the_studio(studio, live_server):
    page = studio
    submit(
        page,
        model="dall-e-3",
        prompt="a glass lighthouse at dusk",
        size="1792x1024",
        quality="hd",
        style="natural",
    )
    wait_until_done(page, "a glass lighthouse").get_by_role("link", name="Remix").click()
    image = Image.objects.get(job__prompt="a glass lighthouse at dusk")
    expect(page).to_have_url(re.compile(rf"\?remix={image.id}$"))
    expect(page.locator("#id_prompt")).to_have_value("a glass lighthouse at dusk")
    expect(page.locator("#id_model")).to_have_value("dall-e-3")
    expect(page.locator("#id_size")).to_have_value("1792x1024")
    expect(page.locator("#id_quality")).to_have_value("hd")
    expect(page.locator("#id_style")).to_have_value("natural")

    page.locator("#id_prompt").fill("")
    page.goto(live_server.url + reverse("gallery:detail", args=[image.id]))
    page.get_by_role("link", name="Remix").click()
    expect(page).to_have_url(re.compile(rf"\?remix={image.id}$"))
    expect(page.locator("#id_prompt")).to_have_value("a glass lighthouse at dusk")


def test_it_makes_variations_of_an_image_with_one_click(studio, fake_provider):
    page = studio
    submit(page, model="dall-e-2", prompt="a teapot shaped like a whale", size="256x256")
    wait_until_done(page, "a teapot shaped").get_by_role("button", name="Variations").click()
    variation_card = page.locator(".job-card", has=page.locator(".kind", has_text="Variation"))
    expect(variation_card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect_loaded(variation_card.locator(".thumb img"))
    [call] = [c for c in fake_provider.calls if c.path == "/v1/images/variations"]
    [sent] = call.files["image"]
    source = Image.objects.get(job__prompt="a teapot shaped like a whale")
    assert sent["size"] == (source.width, source.height)


def test_it_finds_an_earlier_prompt_in_the_history(studio, alice):
    for prompt in ("an otter juggling shells", "a fox in the snow"):
        GenerationJob.objects.create(
            owner=alice,
            provider="openai_images",
            connection="openai",
            model="dall-e-3",
            prompt=prompt,
            status=GenerationJob.Status.CANCELLED,
        )
    GenerationJob.objects.create(
        owner=UserFactory(username="bob"),
        provider="demo",
        connection="demo",
        model="demo",
        prompt="bob's otter",
        status=GenerationJob.Status.CANCELLED,
    )
    page = studio
    page.reload()
    page.get_by_text("Prompt history").click()
    page.get_by_placeholder("Search your prompts").fill("otter")
    items = page.locator(".history-item")
    expect(items).to_have_count(1)
    expect(items).to_have_text("an otter juggling shells")
    items.click()
    expect(page.locator("#id_prompt")).to_have_value("an otter juggling shells")
    expect(page.locator("#prompt-counter")).to_contain_text(f"{len('an otter juggling shells')} /")


def alpha_at(page: Page, x: int, y: int) -> int:
    return page.evaluate(
        """([x, y]) => document.getElementById("mask-canvas")
             .getContext("2d").getImageData(x, y, 1, 1).data[3]""",
        [x, y],
    )


def stroke(page: Page, canvas, start: tuple[float, float], end: tuple[float, float]) -> None:
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=12)
    page.mouse.up()


def test_it_paints_a_mask_and_submits_an_edit(studio, fake_provider, s3):
    page = studio
    submit(page, model="gpt-image-1.5", prompt="a quiet harbour at noon", size="1024x1024")
    wait_until_done(page, "a quiet harbour").get_by_role("button", name="Edit").click()
    editor = page.locator("#mask-editor")
    expect(editor).to_be_visible()
    canvas = editor.locator("#mask-canvas")
    assert canvas.evaluate("c => [c.width, c.height]") == [1024, 1024]

    editor.locator("#brush-size").fill("60")
    stroke(page, canvas, (0.3, 0.5), (0.7, 0.5))
    assert alpha_at(page, 512, 512) > 0
    stroke(page, canvas, (0.2, 0.1), (0.8, 0.1))
    assert alpha_at(page, 512, 102) > 0
    editor.get_by_role("button", name="Undo").click()
    assert alpha_at(page, 512, 102) == 0 and alpha_at(page, 512, 512) > 0
    editor.get_by_role("button", name="Clear").click()
    assert alpha_at(page, 512, 512) == 0
    page.keyboard.press("Control+z")
    assert alpha_at(page, 512, 512) > 0
    editor.get_by_role("button", name="Eraser").click()
    stroke(page, canvas, (0.3, 0.5), (0.4, 0.5))
    assert alpha_at(page, 358, 512) == 0 and alpha_at(page, 614, 512) > 0
    screenshot(page, "mask-editor-desktop")
    page.set_viewport_size(PHONE)
    expect(editor.get_by_role("button", name="Submit edit")).to_be_attached()
    screenshot(page, "mask-editor-phone")
    page.set_viewport_size(DESKTOP)

    editor.get_by_label("New prompt").fill("the harbour at night, lit by lanterns")
    editor.get_by_role("button", name="Submit edit").click()
    expect(editor).to_be_hidden()
    edit_card = wait_until_done(page, "lit by lanterns")
    expect(edit_card.locator(".kind")).to_have_text("Edit")
    expect_loaded(edit_card.locator(".thumb img"))

    job = GenerationJob.objects.get(kind=GenerationJob.Kind.EDIT)
    source = Image.objects.get(job__prompt="a quiet harbour at noon")
    assert job.source_image == source
    [call] = [c for c in fake_provider.calls if c.path == "/v1/images/edits"]
    assert call.body["prompt"] == "the harbour at night, lit by lanterns"
    [sent] = call.files["mask"]
    assert sent["format"] == "PNG" and sent["size"] == (source.width, source.height)
    assert 0 < sent["transparent_pixels"] < source.width * source.height // 4
    # The bytes the provider received are the ones kept with the job: look inside them.
    with default_storage.open(job.mask_key) as stored:
        mask_bytes = stored.read()
    assert image_info(mask_bytes) == sent
    mask = PILImage.open(io.BytesIO(mask_bytes))
    assert mask.size == (source.width, source.height) and len(mask.getbands()) == 4
    alpha = mask.getchannel("A")
    assert alpha.getpixel((614, 512)) == 0, "the painted area must be transparent"
    assert alpha.getpixel((358, 512)) == 255, "the erased part of the stroke must stay opaque"
    assert alpha.getpixel((512, 102)) == 255, "the undone stroke must stay opaque"
    assert alpha.getpixel((10, 10)) == 255


@pytest.fixture
def paced_stream(monkeypatch):
    """Make the fake provider pause after each streamed partial image, as a real model
    takes seconds between previews; otherwise they all arrive within milliseconds."""
    pause = 2.5
    original = FakeImageProvider._stream

    def paced(self, handler, *args, **kwargs):
        wfile = handler.wfile

        class Paced:
            def write(self, data: bytes) -> int:
                written = wfile.write(data)
                if data.startswith(b"event: ") and b".partial_image" in data[:60]:
                    wfile.flush()
                    time.sleep(pause)
                return written

            def flush(self) -> None:
                wfile.flush()

        handler.wfile = Paced()
        try:
            return original(self, handler, *args, **kwargs)
        finally:
            handler.wfile = wfile

    monkeypatch.setattr(FakeImageProvider, "_stream", paced)


def test_it_shows_partial_images_sharpening_before_the_final_one(
    studio, fake_provider, paced_stream
):
    page = studio
    submit(
        page,
        model="gpt-image-1.5",
        prompt="a heron wading at dawn",
        size="1024x1024",
        partial_images=2,
    )
    job_card = card(page, "a heron wading")
    preview = job_card.locator("img.partial")
    for index in range(2):
        expect(preview).to_have_attribute(
            "src", re.compile(rf"%2F{index}\.png"), timeout=JOB_TIMEOUT_MS
        )
        expect_loaded(preview)
        expect(job_card).to_have_attribute("data-status", "running")
        if index == 0:
            screenshot(page, "studio-partial-preview")

    wait_until_done(page, "a heron wading")
    expect(preview).to_have_count(0)
    expect_loaded(job_card.locator(".thumb img"))
    [call] = fake_provider.calls_for("a heron wading")
    assert call.body["stream"] in (True, "true") and int(call.body["partial_images"]) == 2
