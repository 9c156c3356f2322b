"""Which language a person gets: the browser's, until they choose; then their choice, in
this browser (cookie) and, once logged in, wherever they log in (profile)."""

from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from tests.factories import PASSWORD

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def _language(response) -> str:
    return response["Content-Language"]


def _log_in(client, user):
    return client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD}, **CHINESE
    )


def test_it_follows_the_browser_until_someone_chooses(client):
    assert _language(client.get(reverse("login"), **CHINESE)) == "zh-hans"
    assert _language(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-GB")) == "en"


def test_an_anonymous_choice_is_a_cookie_and_survives_logging_in(client, alice):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("login")}, **CHINESE
    )
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert _language(client.get(reverse("login"), **CHINESE)) == "en"

    _log_in(client, alice)

    assert _language(client.get(reverse("jobs:studio"), **CHINESE)) == "en"
    assert Profile.objects.get(user=alice).language == "en"


def test_a_logged_in_choice_is_kept_on_the_profile_and_applies_in_a_new_browser(client, alice):
    _log_in(client, alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"}, **CHINESE)
    assert Profile.objects.get(user=alice).language == "en"

    other = Client()  # no cookie: a browser that only says it prefers Chinese
    _log_in(other, alice)
    response = other.get(reverse("jobs:studio"), **CHINESE)

    assert _language(response) == "en"
    assert "Prompt studio" in response.content.decode()
    # The stored choice is copied into the cookie, so it also holds after logging out.
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_bobs_choice_is_not_alices(client, alice, bob):
    _log_in(client, alice)
    client.post(reverse("set_language"), {"language": "en", "next": "/"}, **CHINESE)

    other = Client()
    _log_in(other, bob)

    assert _language(other.get(reverse("jobs:studio"), **CHINESE)) == "zh-hans"
    assert not Profile.objects.filter(user=bob).exists()


def test_a_language_atelier_does_not_offer_is_ignored(client, alice):
    _log_in(client, alice)
    client.post(reverse("set_language"), {"language": "fr", "next": "/"}, **CHINESE)

    assert not Profile.objects.filter(user=alice).exists()
    assert _language(client.get(reverse("jobs:studio"), **CHINESE)) == "zh-hans"
