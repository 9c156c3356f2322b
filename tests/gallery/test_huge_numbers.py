"""A number too large for an id column, in a gallery page cursor or a bulk action,
answers 400 instead of reaching the database (on SQLite that was an OverflowError, a 500)."""

import base64
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.urls import reverse

from tests.support import embedded_default_env

ROOT = Path(__file__).resolve().parents[2]
HUGE = "9" * 30


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [f"2026-01-01T00:00:00+00:00|{HUGE}", f"2026-01-01T00:00:00+00:00|-{HUGE}"],
    ids=["huge", "huge-negative"],
)
def test_a_cursor_with_a_huge_id_is_a_400(client, alice, make_image, cursor):
    make_image(alice)
    client.force_login(alice)
    response = client.get(reverse("gallery:list"), {"cursor": _cursor(cursor)})
    assert response.status_code == 400


@pytest.mark.parametrize("action", ["zip", "delete", "tag", "collect", "share"])
def test_a_bulk_action_with_a_huge_id_is_a_400(client, alice, make_image, action):
    image = make_image(alice)
    client.force_login(alice)
    response = client.post(
        reverse("gallery:bulk"), {"action": action, "images": [image.id, HUGE], "tags": "x"}
    )
    assert response.status_code == 400


SCRIPT = textwrap.dedent(
    f"""
    import base64
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    setup_test_environment()
    user = get_user_model().objects.create(username="solo")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    cursor = base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|{HUGE}").decode()
    print(client.get("/gallery/", {{"cursor": cursor}}).status_code)
    print(client.post("/gallery/bulk/", {{"action": "zip", "images": ["{HUGE}"]}}).status_code)
    """
)


def test_on_the_embedded_sqlite_default_huge_numbers_are_a_400_too(tmp_path):
    env = embedded_default_env(tmp_path, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["400", "400"], result.stderr[-3000:]
