from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from api.models import AccessToken


def token_list(*, user) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(user=user).select_related("team").order_by("-created_at")


def token_get(*, user, token_id: int) -> AccessToken:
    """One of the user's tokens; 404 for anyone else's."""
    return get_object_or_404(AccessToken, id=token_id, user=user)


def token_list_all(*, q: str = "", limit: int = 200) -> QuerySet[AccessToken]:
    """Every token, for staff: active first, newest first."""
    tokens = AccessToken.objects.select_related("user", "team", "revoked_by")
    if q.strip():
        tokens = tokens.filter(user__username__icontains=q.strip())
    return tokens.order_by("revoked_at", "-created_at")[:limit]
