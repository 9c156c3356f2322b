"""Issue 16 in a real browser: the studio, the image page, the mask editor and collections,
on the live server with the real worker and the fake provider (and, for the embedded
default, on SQLite with its own web and worker processes)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from gallery.models import Collection, Image
from jobs.models import GenerationJob
from jobs.selectors import NO_EDIT_MODEL_REASON
from tests.browser.conftest import DESKTOP, JOB_TIMEOUT_MS, screenshot
from tests.browser.test_studio import card, submit, wait_until_done

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def generate(page: Page, prompt: str, **controls):
    submit(page, model="gpt-image-1.5", prompt=prompt, size="1024x1024", **controls)
    return wait_until_done(page, prompt)


# -- 1. the embedded default under quick submits ---------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def embedded_default(tmp_path):
    """`make run`'s shape: SQLite, a filesystem broker, the demo model, web + worker."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'atelier.sqlite3'}",
        "ATELIER_DATA_DIR": str(tmp_path),
        "AWS_STORAGE_BUCKET_NAME": "",
        "CELERY_BROKER_URL": "filesystem://",
        "OPENAI_API_KEY": "",
        "ATELIER_CONNECTIONS": "",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    for folder in ("broker/processed", "broker/control", "media"):
        (tmp_path / folder).mkdir(parents=True)
    setup = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from django.contrib.auth import get_user_model;"
        "get_user_model().objects.create_user(username='solo', password='pw-solo-1234')"
    )
    subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True, timeout=120)
    log = (tmp_path / "processes.log").open("w")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "2",
             "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
             "--skip-checks"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)
    log.close()


def test_quick_submits_on_the_embedded_default_all_finish(page: Page, embedded_default):
    page.goto(embedded_default + "/accounts/login/")
    page.get_by_label("Username").fill("solo")
    page.get_by_label("Password").fill("pw-solo-1234")
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
