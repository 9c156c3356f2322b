"""Every refusal as JSON: {"detail": "…", "errors": {field: [message, …]}}.

A refusal a script should act on also names its ``code``: ``rate_limited`` (wait
Retry-After and retry), ``quota_exhausted`` (a daily or monthly quota: retrying will not
help until it resets), ``prompt_refused``, ``account_refused``, ``moderation_unavailable``.
"""

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, Throttled
from ninja.errors import ValidationError as SchemaError

from jobs.admission import JobRefused, Reason


class FormInvalid(Exception):
    """A studio or gallery form refused the request; its messages, field by field."""

    def __init__(self, form):
        super().__init__("The request is not valid.")
        self.errors = {
            field: [str(message) for message in messages] for field, messages in form.errors.items()
        }


def _messages(error: ValidationError) -> tuple[str, dict[str, list[str]] | None]:
    if hasattr(error, "error_dict"):
        fields = {name: list(messages) for name, messages in error.message_dict.items()}
        return " ".join(m for messages in fields.values() for m in messages), fields
    return " ".join(error.messages), None


def install(api: NinjaAPI) -> None:
    def respond(request, status: int, detail: str, errors=None, code=None) -> HttpResponse:
        body: dict = {"detail": detail}
        if errors:
            body["errors"] = errors
        if code:
            body["code"] = code
        return api.create_response(request, body, status=status)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        # Whatever the caller may not see answers like what does not exist.
        return respond(request, 404, "Not found.")

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return respond(request, 403, str(exc) or "You may not do that to this item.")

    @api.exception_handler(BadRequest)
    def bad_request(request: HttpRequest, exc: BadRequest) -> HttpResponse:
        return respond(request, 400, str(exc) or "The request is not valid.")

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        detail, fields = _messages(exc)
        return respond(request, 400, detail, fields)

    @api.exception_handler(FormInvalid)
    def form_invalid(request: HttpRequest, exc: FormInvalid) -> HttpResponse:
        detail = " ".join(m for messages in exc.errors.values() for m in messages)
        return respond(request, 400, detail, exc.errors)

    @api.exception_handler(SchemaError)
    def schema_invalid(request: HttpRequest, exc: SchemaError) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for item in exc.errors:
            where = ".".join(str(part) for part in item.get("loc", ())[1:]) or "__all__"
            errors.setdefault(where, []).append(str(item.get("msg", "Invalid value.")))
        detail = "; ".join(f"{field}: {' '.join(m)}" for field, m in errors.items())
        return respond(request, 422, detail, errors)

    @api.exception_handler(JobRefused)
    def refused(request: HttpRequest, exc: JobRefused) -> HttpResponse:
        response = respond(request, exc.status_code, exc.message, code=exc.reason.value)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        # ninja adds Retry-After from the throttle's wait.
        return respond(
            request,
            429,
            _(
                "Too many requests: at most %(limit)d a minute, counted across /api/ and /v1/ "
                "for a token."
            )
            % {"limit": settings.ATELIER_API_REQUESTS_PER_MINUTE},
            code=Reason.RATE_LIMITED.value,
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request,
            401,
            "Authentication needed: send Authorization: Bearer <token>. "
            "A revoked or unknown token is refused.",
        )
        response["WWW-Authenticate"] = 'Bearer realm="atelier"'
        return response


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any path under /api/ the API does not serve: JSON like ninja's own 404, not the
    site's HTML page."""
    return JsonResponse({"detail": "Not Found"}, status=404)
