"""Issue 16 in a real browser: the studio, the image page, the mask editor and collections,
on the live server with the real worker and the fake provider (and, for the embedded
default, on SQLite with its own web and worker processes)."""

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from gallery.models import Collection, Image
from jobs.models import GenerationJob
from jobs.selectors import NO_EDIT_MODEL_REASON
from tests.browser.conftest import DESKTOP, JOB_TIMEOUT_MS, screenshot
from tests.browser.test_studio import card, expect_loaded, submit, wait_until_done
from tests.support import make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def generate(page: Page, prompt: str, **controls):
    submit(page, model="gpt-image-1.5", prompt=prompt, size="1024x1024", **controls)
    return wait_until_done(page, prompt)


# -- 1. the embedded default under quick submits ---------------------------------------


@pytest.fixture
def embedded_default(tmp_path):
    """`make run` itself: SQLite, a filesystem broker, the demo model, web + both workers."""
    with make_run(tmp_path, DJANGO_ALLOWED_HOSTS="127.0.0.1") as (base_url, _env):
        yield base_url


def test_quick_submits_on_the_embedded_default_all_finish(page: Page, embedded_default):
    page.goto(embedded_default + "/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Prompt studio")).to_be_visible()
    page.locator("#id_model").select_option("demo")
    prompts = [f"a tide pool number {i}" for i in range(6)]
    for prompt in prompts:  # one after another, without waiting for the cards
        page.locator("#id_prompt").fill(prompt)
        page.locator("#id_prompt").press("Control+Enter")
        expect(page.locator("#generate-button")).to_be_enabled()
    # Several tabs at once, as the reporter had: the same form posted concurrently.
    page.evaluate(
        """async () => {
          const form = document.getElementById("generate-form");
          await Promise.all([...Array(10).keys()].map((i) => {
            const data = new FormData(form);
            data.set("prompt", `a tide pool in a hurry ${i}`);
            data.delete("submit_token");
            return fetch(form.action, {method: "POST", body: data});
          }));
        }"""
    )
    for prompt in prompts:
        expect(card(page, prompt)).to_have_attribute(
            "data-status", "succeeded", timeout=JOB_TIMEOUT_MS
        )
    page.reload()
    cards = page.locator(".job-card")
    expect(cards).to_have_count(16)
    expect(page.locator('.job-card[data-status="succeeded"]')).to_have_count(
        16, timeout=JOB_TIMEOUT_MS
    )
    screenshot(page, "embedded-default-many-jobs")


# -- 5. one click, one job; 6. a success clears an old error ----------------------------


def test_a_double_click_on_generate_makes_one_job(studio):
    page = studio
    page.locator("#id_model").select_option("dall-e-3")
    page.locator("#id_prompt").fill("a heron on one leg fake:slow:1")
    page.locator("#generate-button").dblclick()
    job_card = card(page, "a heron on one leg")
    expect(job_card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect(job_card).to_have_count(1)
    assert GenerationJob.objects.filter(prompt__contains="a heron on one leg").count() == 1
    # The form has a new token: the next submit is a new job, not the heron again.
    page.locator("#id_prompt").fill("a second heron")
    page.locator("#generate-button").click()
    wait_until_done(page, "a second heron")
    assert GenerationJob.objects.count() == 2


def test_a_later_success_clears_the_old_error(studio):
    page = studio
    page.locator("#id_model").select_option("dall-e-3")
    page.locator("#id_prompt").fill("")
    page.locator("#generate-button").click()
    errors = page.locator("#generate-form .errorlist, #generate-form .errors")
    expect(errors.first).to_be_visible()
    page.locator("#id_prompt").fill("a kite over dunes")
    page.locator("#generate-button").click()
    wait_until_done(page, "a kite over dunes")
    expect(errors).to_have_count(0)
    screenshot(page, "studio-error-cleared")


# -- 13. thumbnails in a grid; 12. the job link opens a page -------------------------------


def test_a_four_image_card_is_a_compact_grid_and_its_job_has_a_page(studio, live_server):
    page = studio
    job_card = generate(page, "four foxes in the snow", n=4)
    expect(job_card.locator(".thumb img")).to_have_count(4)
    for index in range(4):
        expect_loaded(job_card.locator(".thumb img").nth(index))
    height = job_card.evaluate("el => el.getBoundingClientRect().height")
    assert height < 600, f"a 4-image card is {height:.0f}px tall at 1280 wide"
    tops = job_card.locator(".thumb").evaluate_all(
        "els => els.map((el) => Math.round(el.getBoundingClientRect().top))"
    )
    assert len(set(tops)) <= 2, "thumbnails stack one per row"
    job_card.screenshot(path=str(screenshot(page, "job-card-grid")))

    job_card.locator(".thumb a").first.click()
    job = GenerationJob.objects.get(prompt="four foxes in the snow")
    page.get_by_role("link", name=str(job.id)).click()
    expect(page).to_have_url(live_server.url + reverse("jobs:job_detail", args=[job.id]))
    expect(page.get_by_role("heading", name="Job")).to_be_visible()
    expect(page.locator(".topbar")).to_be_visible()  # a full page, with the site's styles
    expect(page.locator(f"#job-{job.id} .thumb img")).to_have_count(4)
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    screenshot(page, "job-page")


# -- 7. prompt history on a 1280×800 screen --------------------------------------------------


def test_the_last_prompt_in_the_history_is_reachable_on_a_laptop_screen(studio, alice):
    page = studio
    GenerationJob.objects.bulk_create(
        GenerationJob(
            owner=alice,
            provider="openai_images",
            connection="openai",
            model="dall-e-3",
            prompt=f"an old prompt about the sea, number {i:02d}",
            status=GenerationJob.Status.SUCCEEDED,
        )
        for i in range(30)
    )
    page.set_viewport_size(DESKTOP)
    page.reload()
    page.locator("#id_model").select_option("gpt-image-1.5")  # the most controls
    page.get_by_text("Prompt history").click()
    composer = page.locator(".composer")
    assert composer.evaluate("el => el.scrollHeight") > DESKTOP["height"], "test needs more"
    bottom = composer.evaluate("el => el.getBoundingClientRect().bottom")
    assert bottom <= DESKTOP["height"], f"the sticky composer ends at {bottom:.0f}px"
    items = page.locator(".history-item")
    expect(items).to_have_count(15)
    last = items.last
    page.mouse.wheel(0, 400)  # the reader has scrolled the job list a little
    last.focus()
    expect(last).to_be_focused()
    expect(last).to_be_in_viewport(ratio=1)
    box = last.bounding_box()
    assert box and box["y"] + box["height"] <= DESKTOP["height"]
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('.history-item')?.textContent",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert hit and "number" in hit, "the last history item is hidden under something"
    bottom = composer.evaluate("el => el.getBoundingClientRect().bottom")
    assert bottom <= DESKTOP["height"], f"the sticky composer ends at {bottom:.0f}px"
    screenshot(page, "studio-history-reachable")


# -- 3. mask editing only when a model can edit, and every error shown -----------------------


def test_the_editor_page_shows_the_servers_errors_and_asks_for_a_mask(studio, live_server):
    page = studio
    generate(page, "a quiet lake at dawn")
    image = Image.objects.get(job__prompt="a quiet lake at dawn")
    page.goto(live_server.url + reverse("gallery:detail", args=[image.id]))
    page.get_by_role("link", name="Edit with a mask").click()
    expect(page.locator("#mask-rule")).to_contain_text("an edit needs a painted area")
    page.get_by_label("New prompt").fill("the lake at night")
    page.get_by_role("button", name="Submit edit").click()  # nothing painted
    expect(page.locator("#edit-form")).to_contain_text("Paint the area to change first")
    page.get_by_label("New prompt").fill("")
    page.get_by_role("button", name="Submit edit").click()
    expect(page.locator("#edit-form [data-field=prompt] .errorlist")).to_be_visible()
    screenshot(page, "editor-page-errors")


def test_no_mask_editing_is_offered_when_no_model_can_edit(studio, live_server, settings):
    page = studio
    generate(page, "a red barn in a field")
    image = Image.objects.get(job__prompt="a red barn in a field")
    settings.ATELIER_OPENAI_MODELS = ["dall-e-3"]  # a connection that cannot edit
    page.goto(live_server.url + reverse("gallery:detail", args=[image.id]))
    expect(page.get_by_role("link", name="Edit with a mask")).to_have_count(0)
    expect(page.locator("#no-mask-edit")).to_have_text(NO_EDIT_MODEL_REASON)
    screenshot(page, "image-page-no-mask-edit")
    page.goto(live_server.url + reverse("jobs:image_edit", args=[image.id]))
    expect(page.locator("#no-edit-models")).to_have_text(NO_EDIT_MODEL_REASON)
    page.get_by_role("button", name="Submit edit").click()
    expect(page.locator("#edit-form [data-field=model] .errorlist")).to_be_visible()


# -- 4. collections can be tidied --------------------------------------------------------------


def test_a_collection_is_renamed_emptied_and_deleted_and_names_are_unique(studio, live_server):
    page = studio
    generate(page, "a lighthouse on a cliff")
    image = Image.objects.get(job__prompt="a lighthouse on a cliff")
    page.goto(live_server.url + reverse("gallery:collections"))
    page.get_by_label("Name").fill("Coast")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Coast")).to_be_visible()
    page.goto(live_server.url + reverse("gallery:collections"))
    page.get_by_label("Name").fill("  coast ")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("You already have a collection called “coast”.")).to_be_visible()
    assert Collection.objects.count() == 1
    coast = Collection.objects.get()

    page.goto(live_server.url + reverse("gallery:detail", args=[image.id]))
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("link", name="Coast")).to_be_visible()
    page.get_by_role("button", name="Remove from collection Coast").click()
    expect(page.get_by_text("Removed from “Coast”.")).to_be_visible()
    assert not coast.items.exists()

    page.get_by_role("button", name="Add").click()
    page.get_by_role("link", name="Coast").click()
    page.get_by_label("Rename").fill("Cliffs")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="Cliffs")).to_be_visible()
    screenshot(page, "collection-tidy")
    page.get_by_role("button", name=f"Remove from collection Cliffs: image {image.id}").click()
    expect(page.get_by_text("Removed from “Cliffs”.")).to_be_visible()
    assert not coast.items.exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete collection").click()
    expect(page.get_by_text("Collection “Cliffs” deleted; its images are kept.")).to_be_visible()
    assert not Collection.objects.exists() and Image.objects.filter(id=image.id).exists()
