"""The ASGI route for /v1/: the API's views without the site's middleware.

The site's middleware includes synchronous classes (the body cap, probes, the language
choice). Django runs an async view under a synchronous middleware in a thread of its own
for the whole request, so every held API request would pin a thread. API requests carry a
bearer token and no cookies: sessions, CSRF, messages, htmx, axes and the language cookie
do nothing for them, and the body cap is applied by ``config.middleware.body_limit_asgi``
around both handlers. They keep Django's security middleware (HTTPS redirect, headers).
"""

from __future__ import annotations

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string

API_PREFIX = "/v1/"
API_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]


class ApiASGIHandler(ASGIHandler):
    async def __call__(self, scope, receive, send):
        # Django opens a ThreadSensitiveContext per request, which gives each request a
        # thread of its own for its synchronous steps (the request signals' receivers, the
        # security middleware); that thread would sit idle for as long as the request is
        # held. Without it those few short steps share asgiref's one sync thread, and the
        # views' ORM work runs in the loop's pool (openai_api.waiting.run_briefly).
        await self.handle(scope, receive, send)

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response_async)  # type: ignore[attr-defined]
        for path in reversed(API_MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler


def with_api(site):
    """``site`` (the Django ASGI application) with /v1/ answered by ``ApiASGIHandler``."""
    api = ApiASGIHandler()

    async def application(scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "").startswith(API_PREFIX):
            return await api(scope, receive, send)
        return await site(scope, receive, send)

    return application
