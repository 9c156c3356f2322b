"""Every page README names answers: none of them is a 404."""

import re
from pathlib import Path

import pytest

from tests.factories import UserFactory

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_OURS = {"/mj/submit/modal", "/usr/bin/chromium"}  # a proxy's endpoint, a file


def readme_paths() -> list[str]:
    found = set(re.findall(r"`(/[a-z/_-]*)`", README.read_text()))
    return sorted(found - NOT_OURS)


def test_the_readme_names_the_pages_that_moderators_use():
    assert "/moderation/queue/" in readme_paths()


@pytest.mark.django_db
@pytest.mark.parametrize("path", readme_paths())
def test_a_page_the_readme_names_is_there(client, s3, settings, path):
    settings.ATELIER_METRICS_TOKEN = "t"
    staff = UserFactory(username="staffer", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get(path, HTTP_AUTHORIZATION="Bearer t")
    assert response.status_code in (200, 302), (path, response.status_code)
