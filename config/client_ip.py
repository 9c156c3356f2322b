"""The address a request came from, for login throttling."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind the TLS proxy (DJANGO_BEHIND_TLS_PROXY=1) the last address of
    X-Forwarded-For: the one that proxy appended. Earlier entries come from the client and
    could be forged to dodge the per-address limit."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")
