"""An administrator edits a model's sizes and qualities in the admin; the studio's controls
follow at the next page load, with no restart."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from catalogue.models import CatalogueModel
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def option_values(page: Page, selector: str) -> list[str]:
    return page.locator(f"{selector} option").evaluate_all("(os) => os.map((o) => o.value)")


@pytest.fixture
def catalogue_loaded(transactional_db):
    from catalogue.services import catalogue_load
    from jobs.registry import catalogue_changed

    catalogue_load()
    catalogue_changed()
    yield
    catalogue_changed()


def test_the_studio_follows_an_administrators_edit_of_sizes_and_qualities(
    catalogue_loaded, studio, browser, live_server
):
    page = studio
    page.reload()
    page.locator("#id_model").select_option("gpt-image-2")
    assert option_values(page, "#id_quality") == ["", "low", "medium", "high", "auto"]
    assert "2048x1152" not in option_values(page, "#size-options")

    UserFactory(username="root", is_staff=True, is_superuser=True)
    admin = browser.new_context().new_page()
    admin.goto(live_server.url + reverse("admin:login"))
    admin.get_by_label("Username").fill("root")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    row = CatalogueModel.objects.get(name="gpt-image-2")
    admin.goto(live_server.url + reverse("admin:catalogue_cataloguemodel_change", args=[row.pk]))
    spec = {
        **row.spec,
        "sizes": ["1024x1024", "2048x1152", "auto"],
        "qualities": ["low", "high"],
    }
    admin.locator("#id_spec").fill(json.dumps(spec, indent=2))
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")

    page.reload()
    page.locator("#id_model").select_option("gpt-image-2")
    assert option_values(page, "#id_quality") == ["", "low", "high"]
    assert option_values(page, "#size-options") == ["1024x1024", "2048x1152", "auto"]
