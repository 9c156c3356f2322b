"""Atelier's REST API (django-ninja): /api/, its schema at /api/openapi.json, docs at /api/docs."""

import threading

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import BaseThrottle

from api import errors
from api.auth import token_authenticate
from api.models import AccessToken
from api.ratelimit import request_allowed, token_request_allowed
from api.routes import collections, images, jobs, teams
from config.client_ip import client_ip


class TokenBearer(HttpBearer):
    """Authorization: Bearer atl_…; a revoked or unknown token falls through to 401."""

    def authenticate(self, request: HttpRequest, token: str) -> AccessToken | None:
        return token_authenticate(token, ip=client_ip(request))


class RequestThrottle(BaseThrottle):
    """ATELIER_API_REQUESTS_PER_MINUTE per token (shared with /v1/) or per signed-in user,
    answered 429 with Retry-After."""

    def __init__(self) -> None:
        # One instance serves every thread; wait() follows allow_request() in the same one.
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        auth = getattr(request, "auth", None)
        if isinstance(auth, AccessToken):
            allowed, self._local.retry_after = token_request_allowed(token_id=auth.pk)
        elif auth is not None and getattr(auth, "pk", None):
            allowed, self._local.retry_after = request_allowed(key=f"user:{auth.pk}")
        else:
            return True
        return allowed

    def wait(self) -> float | None:
        return float(getattr(self._local, "retry_after", 60))


DESCRIPTION = """
Everything the studio and the gallery do, for scripts. Authenticate with a personal
access token (Settings → API tokens): `Authorization: Bearer atl_…`. Scopes: `read`
(every GET), `generate` (create, cancel and retry jobs) and `library` (tag, collect,
favourite, share, delete; collections). A token made for a team acts for that team
only. What you may not see answers 404; what you see but may not change, 403.
Quota and rate refusals answer 429 with `Retry-After`, told apart by the body's `code`:
`rate_limited` (wait and retry; a token's request budget is shared with `/v1/`) or
`quota_exhausted` (a daily or monthly quota: retrying does not help until it resets).
"""

api = NinjaAPI(
    title="Atelier API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=[TokenBearer(), SessionAuth()],
    throttle=[RequestThrottle()],
)
errors.install(api)
api.add_router("/jobs", jobs.router)
api.add_router("/images", images.router)
api.add_router("/collections", collections.router)
api.add_router("/teams", teams.router)
