"""Issue 16, items 8, 11 and 15 in a real browser: what the search understands (also on the
embedded SQLite default), gallery filters, keyboard mask painting, remixing one image of a
seeded job, the studio's draft prompt, the favicon and bulk errors."""

import hashlib
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from playwright.sync_api import Page, expect

from gallery.models import Collection, Image
from jobs.models import GenerationJob
from teams.models import Membership, Team
from tests.browser.conftest import DESKTOP, JOB_TIMEOUT_MS, PHONE, screenshot
from tests.browser.test_accessibility import stored_image
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def log_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Prompt studio")).to_be_visible()


def tile_captions(page: Page) -> list[str]:
    return page.locator("#gallery-grid .tile .caption").all_inner_texts()


# -- item 8: what the search understands -------------------------------------------------


def test_the_gallery_says_what_the_search_understands_and_honours_it(
    page: Page, live_server, s3, alice
):
    stored_image(alice, "a red car on a bridge")
    stored_image(alice, "a red bus in the rain")
    stored_image(alice, "a car painted red")
    log_in(page, live_server.url, alice.username)
    page.goto(live_server.url + reverse("gallery:list"))
    help_text = page.locator("#search-help")
    expect(help_text).to_contain_text('"quiet harbour" the exact phrase')
    expect(help_text).to_contain_text("-night without the word")
    box = page.get_by_role("searchbox", name="Search images")
    expect(box).to_have_attribute("aria-describedby", "search-help")

    box.fill('"red car"')
    box.press("Enter")
    expect(page.locator("#gallery-grid .tile")).to_have_count(1)
    assert tile_captions(page) == ["a red car on a bridge"]
    box = page.get_by_role("searchbox", name="Search images")
    box.fill("red -bus")
    box.press("Enter")
    expect(page.locator("#gallery-grid .tile")).to_have_count(2)
    assert "a red bus in the rain" not in tile_captions(page)


SQLITE_SETUP = textwrap.dedent(
    """
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from gallery.services import image_store
    from jobs.models import GenerationJob
    from tests.gallery.conftest import png

    user = get_user_model().objects.create_user("solo", password="solo-password-1")
    for prompt in ["A red car on a bridge", "A red bus in the rain", "A mountain lake"]:
        job = GenerationJob.objects.create(
            owner=user, provider="demo", connection="demo", model="demo", prompt=prompt,
            status=GenerationJob.Status.SUCCEEDED,
        )
        image_store(job=job, index=0, data=png())
    """
)


@pytest.fixture
def sqlite_server(tmp_path):
    """The embedded default as `make run` has it: SQLite and local files, served by Django."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CELERY_", "OPENAI_", "ATELIER_", "DJANGO_"))
        and key != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'atelier.sqlite3'}",
        ATELIER_DATA_DIR=str(tmp_path),
        ATELIER_DEMO_USER="0",
    )
    setup = subprocess.run(
        [sys.executable, "-c", SQLITE_SETUP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr[-3000:]
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            httpx.get(url + "/accounts/login/", timeout=2)
            break
        except httpx.HTTPError:
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()[-3000:]) from None
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=20)
    log.close()


def test_on_the_sqlite_default_quotes_minus_and_typos_work_in_the_gallery(
    page: Page, sqlite_server
):
    log_in(page, sqlite_server, "solo", "solo-password-1")
    page.goto(sqlite_server + "/gallery/")
    expect(page.locator("#search-help")).to_contain_text("also inside longer words")
    box = page.get_by_role("searchbox", name="Search images")
    box.fill('"red car"')
    box.press("Enter")
    expect(page.locator("#gallery-grid .tile")).to_have_count(1)
    assert tile_captions(page) == ["A red car on a bridge"]

    page.get_by_role("searchbox", name="Search images").fill("red -bus")
    page.get_by_role("searchbox", name="Search images").press("Enter")
    expect(page.locator("#gallery-grid .tile")).to_have_count(1)
    assert tile_captions(page) == ["A red car on a bridge"]

    page.get_by_role("searchbox", name="Search images").fill("mountian")
    page.get_by_role("searchbox", name="Search images").press("Enter")
    expect(page.get_by_text("Also showing results for mountain")).to_be_visible()
    assert tile_captions(page) == ["A mountain lake"]
    screenshot(page, "gallery-search-sqlite")


# -- item 11: filters ----------------------------------------------------------------------


def test_the_filters_offer_alices_models_show_a_badge_and_refuse_from_after_to(
    page: Page, live_server, s3, alice
):
    stored_image(alice, "a lighthouse in fog")
    demo = stored_image(alice, "an abstract demo drawing", colour=(200, 40, 40))
    GenerationJob.objects.filter(id=demo.job_id).update(model="demo")
    log_in(page, live_server.url, alice.username)

    # A hand-typed link in another case still finds the demo image.
    page.goto(live_server.url + reverse("gallery:list") + "?model=Demo")
    assert tile_captions(page) == ["an abstract demo drawing"]
    expect(page.locator("#filter-count")).to_have_text("1 active")
    filters = page.locator("#filters")
    expect(filters).not_to_have_attribute("open", "")

    filters.locator("summary").click()
    model = page.get_by_label("Model")
    expect(model).to_have_value("demo")
    assert model.evaluate("el => [...el.options].map(o => o.value)") == [
        "",
        "demo",
        "gpt-image-1.5",
    ]
    model.select_option("")
    page.get_by_label("From").fill("2026-05-03")
    page.get_by_label("To").fill("2026-05-01")
    page.get_by_role("button", name="Search").click()

    expect(page.locator("#filters")).to_have_attribute("open", "")
    expect(page.locator("#filter-count")).to_have_text("2 active")
    error = page.locator("#id_date_to-error")
    expect(error).to_contain_text("is before “From”")
    expect(page.get_by_label("To")).to_have_attribute("aria-describedby", "id_date_to-error")
    expect(page.get_by_role("alert")).to_contain_text("Not applied")
    screenshot(page, "gallery-filters-date-error")
    page.set_viewport_size(PHONE)
    screenshot(page, "gallery-filters-date-error-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator("#filter-count")).to_have_count(0)
    expect(page.locator("#gallery-grid .tile")).to_have_count(2)


# -- item 15 ------------------------------------------------------------------------------


def alpha_at(page: Page, x: int, y: int) -> int:
    return page.evaluate(
        "([x, y]) => document.getElementById('mask-canvas')"
        ".getContext('2d').getImageData(x, y, 1, 1).data[3]",
        [x, y],
    )


def test_the_mask_can_be_painted_from_the_keyboard(page: Page, live_server, s3, alice):
    image = stored_image(alice, "a quiet harbour at noon")
    log_in(page, live_server.url, alice.username)
    page.goto(live_server.url + reverse("jobs:image_edit", args=[image.id]))
    canvas = page.locator("#mask-canvas")
    size = canvas.evaluate("c => [c.width, c.height]")
    middle = (size[0] // 2, size[1] // 2)

    page.get_by_label("Brush size").fill("20")
    # The canvas takes keyboard focus; the hint tells how to paint there.
    expect(canvas).to_have_attribute("tabindex", "0")
    canvas.focus()
    expect(canvas).to_be_focused()
    expect(canvas).to_have_accessible_description(
        "Keyboard: focus the image, move the brush with the arrow keys (Shift moves faster),"
        " hold Space to paint."
    )
    expect(page.locator("#mask-cursor")).to_be_visible()
    assert alpha_at(page, *middle) == 0

    page.keyboard.down(" ")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.up(" ")
    assert alpha_at(page, *middle) > 0, "Space paints where the brush cursor is"
    step = canvas.evaluate("c => c.width / c.getBoundingClientRect().width") * 10
    assert alpha_at(page, int(middle[0] + 2.5 * step), middle[1]) > 0, "moving while painting"

    # Moving without Space paints nothing.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    below = (int(middle[0] + 3 * step), int(middle[1] + 3 * step))
    assert alpha_at(page, *below) == 0
    expect(page.locator("#mask-key-status")).to_contain_text("Brush at")
    page.keyboard.press("Control+z")
    assert alpha_at(page, *middle) == 0, "a keyboard stroke undoes like any other"
    page.keyboard.press(" ")
    assert alpha_at(page, *below) > 0
    screenshot(page, "mask-editor-keyboard")


def wait_until_done(page: Page, text: str):
    card = page.locator(".job-card", has_text=text)
    expect(card).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    return card


def digest(image: Image) -> str:
    with default_storage.open(image.original_key) as stored:
        return hashlib.sha256(stored.read()).hexdigest()


def fill(page: Page, name: str, value: str) -> None:
    control = page.locator(f"#id_{name}")
    if control.evaluate("el => el.tagName") == "SELECT":
        control.select_option(value)
    else:
        control.fill(value)


def latest_job(prompt: str, count: int) -> GenerationJob:
    deadline = time.time() + 15
    while GenerationJob.objects.filter(prompt=prompt).count() < count:
        assert time.time() < deadline, "the job was not created"
        time.sleep(0.2)
    return GenerationJob.objects.filter(prompt=prompt).order_by("-created_at")[0]


def test_remix_of_the_second_image_reuses_that_images_seed(studio: Page):
    page = studio
    fill(page, "model", "demo")
    fill(page, "size", "256x256")
    fill(page, "n", "2")
    fill(page, "seed", "7")
    page.locator("#id_prompt").fill("two seeded dunes")
    page.locator("#id_prompt").press("Control+Enter")
    card = wait_until_done(page, "two seeded dunes")
    first = Image.objects.get(job__prompt="two seeded dunes", index=0)
    second = Image.objects.get(job__prompt="two seeded dunes", index=1)
    assert digest(first) != digest(second)

    card.locator(f'[data-image-id="{second.id}"]').get_by_role("link", name="Remix").click()
    expect(page.locator("#id_seed")).to_have_value("8")
    expect(page.locator("#id_prompt")).to_have_value("two seeded dunes")
    fill(page, "n", "1")
    page.locator("#id_prompt").press("Control+Enter")
    job = latest_job("two seeded dunes", 2)
    expect(page.locator(f"#job-{job.id}")).to_have_attribute(
        "data-status", "succeeded", timeout=JOB_TIMEOUT_MS
    )
    assert job.params["seed"] == 8
    [remixed] = job.images.all()
    assert digest(remixed) == digest(second), "the remix redraws exactly the second image"


def test_the_draft_prompt_survives_a_reload_until_it_is_submitted(
    studio: Page, live_server, alice, bob
):
    page = studio
    fill(page, "model", "demo")
    page.locator("#id_prompt").fill("a half-written idea about kites")
    page.reload()
    expect(page.locator("#id_prompt")).to_have_value("a half-written idea about kites")
    expect(page.locator("#prompt-counter")).to_contain_text("31")

    # Another account in the same browser does not get alice's draft.
    page.get_by_role("button", name="Log out alice").click()
    log_in(page, live_server.url, bob.username)
    expect(page.locator("#id_prompt")).to_have_value("")
    page.get_by_role("button", name="Log out bob").click()
    log_in(page, live_server.url, alice.username)
    expect(page.locator("#id_prompt")).to_have_value("a half-written idea about kites")

    fill(page, "model", "demo")
    page.locator("#id_prompt").press("Control+Enter")
    wait_until_done(page, "a half-written idea")
    page.reload()
    expect(page.locator("#id_prompt")).to_have_value("")


def test_every_page_has_the_favicon(page: Page, live_server, alice):
    page.goto(live_server.url + reverse("login"))
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href and href.endswith("favicon.svg")
    response = page.request.get(live_server.url + href)
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in response.body()
    log_in(page, live_server.url, alice.username)
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", href)


def test_a_refused_bulk_action_names_each_image_and_why(page: Page, live_server, s3, alice, bob):
    north = Team.objects.create(name="Studio North")
    south = Team.objects.create(name="Studio South")
    Membership.objects.create(team=north, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=north, user=bob, role=Membership.Role.EDITOR)
    Membership.objects.create(team=south, user=alice, role=Membership.Role.OWNER)
    Collection.objects.create(name="South board", team=south)
    bobs = stored_image(bob, "bob's lighthouse")
    Image.objects.filter(id=bobs.id).update(team=north)
    log_in(page, live_server.url, alice.username)
    page.goto(live_server.url + reverse("gallery:team_library", args=[north.id]))

    page.get_by_label(f"Select image {bobs.id}").check()
    page.get_by_label("Action").select_option("collect")
    page.get_by_label("Collection", exact=True).select_option(label="South board (team)")
    page.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(re.compile(rf"/gallery/teams/{north.id}/$"))
    error = page.get_by_role("alert")
    expect(error).to_contain_text("1 of the 1 selected are not. Nothing was changed.")
    expect(error).to_contain_text(
        f"“bob's lighthouse” (image {bobs.id}): bob owns it and it is not shared with Studio South."
    )
    screenshot(page, "gallery-bulk-error-per-image")
