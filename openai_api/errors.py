"""Errors in the shape OpenAI's SDKs read: ``{"error": {message, type, param, code}}``.

The SDKs choose the exception from the status alone (400 BadRequestError, 401
AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 429 RateLimitError, 5xx
InternalServerError) and retry 408, 409, 429 and 5xx unless ``x-should-retry: false`` says
a retry must not repeat the request.
"""

from __future__ import annotations

from django.http import JsonResponse


class ApiError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        retry: bool | None = None,
        retry_after: int | None = None,
        job_id=None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.retry = retry
        self.retry_after = retry_after
        self.job_id = job_id

    def body(self) -> dict:
        error: dict = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        if self.job_id is not None:
            error["job_id"] = str(self.job_id)
        return {"error": error}

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.status)
        if self.retry is not None:
            response["x-should-retry"] = "true" if self.retry else "false"
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        if self.job_id is not None:
            response["x-atelier-job-id"] = str(self.job_id)
        return response


def rate_limited(message: str, *, retry_after: int | None) -> ApiError:
    """A per-minute limit: the SDKs wait Retry-After (up to two minutes) and retry."""
    return ApiError(
        message, status=429, type="requests", code="rate_limit_exceeded", retry_after=retry_after
    )
