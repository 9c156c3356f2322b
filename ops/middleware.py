"""Probes and scrapes answered before host checks and the HTTPS redirect.

Docker's healthcheck and Prometheus reach web by its container address over plain HTTP,
which DJANGO_ALLOWED_HOSTS and SECURE_SSL_REDIRECT would otherwise turn away.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ops import views

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": views.healthz,
    "/readyz": views.readyz,
    "/metrics": views.metrics,
}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBES.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
