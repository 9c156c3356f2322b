from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.sessions.backends.base import SessionBase

from accounts.models import Profile

# The chosen language rides in the session, so activating it costs no query per request.
SESSION_KEY = "atelier_language"


def language_is_offered(code: str | None) -> bool:
    return bool(code) and code in dict(settings.LANGUAGES)


def profile_language_set(
    *, user: AbstractBaseUser | AnonymousUser, session: SessionBase, language: str
) -> None:
    """Remember a language choice: in the session always, on the profile when logged in."""
    if not language_is_offered(language):
        return
    session[SESSION_KEY] = language
    if user.is_authenticated:
        Profile.objects.update_or_create(user_id=user.pk, defaults={"language": language})


def profile_language_on_login(
    *, user: AbstractBaseUser, session: SessionBase, cookie_language: str | None
) -> None:
    """A choice made in this browser before logging in wins; otherwise the stored one applies."""
    if language_is_offered(cookie_language):
        assert cookie_language is not None
        profile_language_set(user=user, session=session, language=cookie_language)
        return
    stored = Profile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    if language_is_offered(stored):
        session[SESSION_KEY] = stored
