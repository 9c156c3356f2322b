from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.services import profile_language_on_login


@receiver(user_logged_in, dispatch_uid="accounts.language_on_login")
def language_on_login(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    profile_language_on_login(
        user=user,
        session=request.session,
        cookie_language=request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
    )
