"""A cap on the size of a request body, applied before anything reads it.

Django's own limits count form fields (``DATA_UPLOAD_MAX_MEMORY_SIZE``) and files
(``DATA_UPLOAD_MAX_NUMBER_FILES``), not the bytes of uploaded files, so without this a
client could send gigabytes that the web process spools before any view runs.

- ``RequestBodyLimitMiddleware`` (first in ``MIDDLEWARE``) refuses a declared
  ``Content-Length`` over ``ATELIER_MAX_REQUEST_BYTES`` with 413, unread. Under WSGI a body
  without a length reads as empty, so that is the whole story there.
- ``body_limit_asgi`` wraps the ASGI application: Django's ASGI handler reads the whole
  body before any middleware, so the wrapper answers 413 on the header at once, and cuts
  a chunked body (no ``Content-Length``) off as soon as it passes the cap.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse


def too_large_message(limit: int) -> str:
    return (
        f"This request is larger than the {limit / 1_048_576:.0f} MB Atelier accepts. "
        "Upload fewer or smaller images."
    )


def _declared_length(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.ATELIER_MAX_REQUEST_BYTES
        length = _declared_length(request.META.get("CONTENT_LENGTH"))
        if length is not None and length > limit:
            return HttpResponse(
                too_large_message(limit), status=413, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


def body_limit_asgi(app):
    """The ASGI application, with request bodies capped at ``ATELIER_MAX_REQUEST_BYTES``."""

    async def limited(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        limit = settings.ATELIER_MAX_REQUEST_BYTES
        headers = dict(scope.get("headers") or [])
        length = _declared_length(headers.get(b"content-length", b"").decode("latin-1"))
        if length is not None and length > limit:
            return await _refuse(send, limit)
        seen = 0
        over = False
        started = False

        async def counted_receive():
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Django stops reading on a disconnect and answers nothing; we answer.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await app(scope, counted_receive, tracked_send)
        if over and not started:
            await _refuse(send, limit)

    return limited


async def _refuse(send, limit: int) -> None:
    body = too_large_message(limit).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
