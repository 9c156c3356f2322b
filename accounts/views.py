from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.services import profile_language_set


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie and redirect), plus the choice kept for the person."""
    response = set_language(request)
    profile_language_set(
        user=request.user, session=request.session, language=request.POST.get("language", "")
    )
    return response
