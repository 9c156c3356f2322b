"""The OpenAI Images API, served by Atelier: every request becomes an Atelier job.

The views are coroutines run by the ASGI server's event loop. A request is held until its
job ends (at most ATELIER_API_HOLD_SECONDS) while it waits in ``waiting.JobWatcher``, with
no thread and no database connection of its own; every ORM step runs briefly in the loop's
thread pool and closes its connection (``run_briefly``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from api.auth import token_authenticate, token_has_scope
from api.ratelimit import token_request_allowed
from config.client_ip import client_ip
from jobs.admission import JobRefused, Reason
from jobs.models import GenerationJob
from jobs.registry import Kind, get_model
from openai_api import answers, selectors, services
from openai_api.errors import ApiError, rate_limited
from openai_api.services import ApiRequest
from openai_api.waiting import GONE, JobState, run_briefly, watcher

logger = logging.getLogger(__name__)
TERMINAL = {str(status) for status in GenerationJob.TERMINAL} | {GONE.status}
KEEPALIVE_SECONDS = 15
CLAIM_WAIT_SECONDS = 30

_COMMON = {"model", "n", "size", "response_format", "user"}
FIELDS = {
    Kind.GENERATE: _COMMON
    | {
        "prompt",
        "quality",
        "style",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "partial_images",
        "seed",
        "stream",
    },
    Kind.EDIT: _COMMON
    | {
        "prompt",
        "quality",
        "background",
        "output_format",
        "output_compression",
        "input_fidelity",
        "partial_images",
        "stream",
        "image",
        "image[]",
        "mask",
    },
    Kind.VARIATION: _COMMON | {"image"},
}
_NOT_PARAMS = {"model", "prompt", "response_format", "user", "stream", "image", "image[]", "mask"}


# -- who is asking ------------------------------------------------------------------------


def _token_for(raw: str, ip: str | None, scope: str | None):
    token = token_authenticate(raw, ip=ip)
    if token is None:
        raise ApiError(
            _("Incorrect API key provided, or the token was revoked."),
            status=401,
            code="invalid_api_key",
        )
    allowed, wait = token_request_allowed(token_id=token.pk)
    if not allowed:
        raise rate_limited(
            _(
                "Too many requests with this token: at most %(limit)d a minute, counted "
                "across /api/ and /v1/. Try again in %(wait)d s."
            )
            % {"limit": settings.ATELIER_API_REQUESTS_PER_MINUTE, "wait": wait},
            retry_after=wait,
        )
    if scope is not None and not token_has_scope(token, scope):
        raise ApiError(
            _("This token lacks the %(scope)s scope this request needs.") % {"scope": scope},
            status=403,
            code="insufficient_permissions",
            retry=False,
        )
    token.user  # noqa: B018 - loaded here, so the event loop never queries for it
    token.team  # noqa: B018
    return token


async def _authenticate(request, *, scope: str | None):
    request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it for the site
    header = request.headers.get("Authorization", "")
    kind, _space, raw = header.partition(" ")
    if kind.lower() != "bearer" or not raw.strip():
        raise ApiError(
            _(
                "You didn't provide an API key. Send an Atelier access token as "
                "'Authorization: Bearer atl_...' (create one under Settings → Access tokens)."
            ),
            status=401,
            code="missing_api_key",
        )
    return await run_briefly(_token_for)(raw.strip(), client_ip(request), scope)


# -- what is asked --------------------------------------------------------------------------


def _flag(value) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _read_uploads(files: list[UploadedFile], *, limit: int, what: str) -> list[bytes]:
    """Uploads judged by their declared sizes before a byte is read, as the studio does."""
    for number, upload in enumerate(files, start=1):
        if limit and (upload.size or 0) > limit:
            raise ApiError(
                _("%(what)s %(number)d is %(size).1f MB; this model takes files under %(max)d MB.")
                % {
                    "what": what,
                    "number": number,
                    "size": (upload.size or 0) / 1_048_576,
                    "max": limit // 1_048_576,
                },
                param="image" if what != "Mask" else "mask",
                code="invalid_image",
            )
    return [upload.read() for upload in files]


def _parse(request, kind: Kind) -> ApiRequest:
    if kind is Kind.GENERATE:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise ApiError(_("We could not parse the JSON body of your request.")) from None
        if not isinstance(body, dict):
            raise ApiError(_("The request body must be a JSON object."))
        files: dict[str, list[UploadedFile]] = {}
    else:
        body = {name: request.POST.get(name) for name in request.POST}
        files = {name: request.FILES.getlist(name) for name in request.FILES}
    for name in [*body, *files]:
        if name not in FIELDS[kind]:
            raise ApiError(
                _("Unknown parameter: '%(name)s'.") % {"name": name},
                param=name,
                code="unknown_parameter",
            )
    model = body.get("model") or selectors.default_model_name()
    offered = {spec.name for spec in selectors.api_models()}
    if not isinstance(model, str) or model not in offered:
        raise ApiError(
            _(
                "The model '%(model)s' does not exist or is not offered here; GET /v1/models "
                "lists those that are."
            )
            % {"model": model},
            status=404,
            param="model",
            code="model_not_found",
        )
    spec = get_model(model)
    response_format = body.get("response_format") or (
        "url" if spec.takes_response_format else "b64_json"
    )
    if response_format not in ("url", "b64_json"):
        raise ApiError(
            _("response_format must be 'url' or 'b64_json'."),
            param="response_format",
            code="invalid_value",
        )
    stream = _flag(body.get("stream"))
    prompt = body.get("prompt") or ""
    if not isinstance(prompt, str):
        raise ApiError(_("prompt must be a string."), param="prompt", code="invalid_type")
    params = {
        name: value
        for name, value in body.items()
        if name not in _NOT_PARAMS and value not in (None, "")
    }
    images: list[bytes] = []
    mask = None
    if kind is not Kind.GENERATE:
        uploads = files.get("image", []) + files.get("image[]", [])
        if not uploads:
            raise ApiError(_("Upload an image as 'image'."), param="image", code="missing_image")
        _low, high = spec.input_count(kind) if kind in spec.kinds else (1, 1)
        if len(uploads) > max(high, 1):
            raise ApiError(
                _("%(model)s takes at most %(max)d images here; you gave %(count)d.")
                % {"model": spec.label, "max": max(high, 1), "count": len(uploads)},
                param="image",
                code="invalid_value",
            )
        images = _read_uploads(uploads, limit=spec.max_input_bytes, what=_("Image"))
        if files.get("mask"):
            mask = _read_uploads(files["mask"][:1], limit=spec.mask_max_bytes, what=_("Mask"))[0]
    return ApiRequest(
        kind=kind,
        model=model,
        prompt=prompt,
        params=params,
        images=tuple(images),
        mask=mask,
        response_format=response_format,
        stream=stream,
    )


# -- making the job, once -------------------------------------------------------------------


def _refusal_error(refusal: JobRefused) -> ApiError:
    if refusal.reason is Reason.RATE_LIMITED:
        return rate_limited(refusal.message, retry_after=refusal.retry_after)
    if refusal.reason is Reason.QUOTA_EXHAUSTED:
        # Waiting a moment does not lift a quota, so the SDKs must not retry; Retry-After
        # still says when it resets.
        return ApiError(
            refusal.message,
            status=429,
            type="insufficient_quota",
            code="insufficient_quota",
            retry=False,
            retry_after=refusal.retry_after,
        )
    if refusal.reason is Reason.PROMPT_REFUSED:
        return ApiError(refusal.message, code="content_policy_violation", retry=False)
    if refusal.reason is Reason.MODERATION_UNAVAILABLE:
        return ApiError(
            refusal.message,
            status=refusal.status_code,
            type="server_error",
            code="moderation_unavailable",
            retry_after=refusal.retry_after,
        )
    return ApiError(refusal.message, status=403, code="account_refused", retry=False, param=None)


def _validation_error(error: ValidationError) -> ApiError:
    messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    field = next(iter(messages), "")
    text = " ".join(str(m) for ms in messages.values() for m in ms)
    param = {"images": "image", "source_image": "image", "": None}.get(field, field)
    return ApiError(text, param=param, code="invalid_value", retry=False)


def _create(*, token, request: ApiRequest, record) -> uuid.UUID:
    try:
        job = services.api_job_create(user=token.user, request=request)
    except BaseException as exc:
        if record is not None:
            services.idempotency_release(record=record)
        if isinstance(exc, ValidationError):
            raise _validation_error(exc) from None
        if isinstance(exc, JobRefused):
            raise _refusal_error(exc) from None
        raise
    if record is not None:
        services.idempotency_bind(record=record, job=job)
    return job.id


async def _job_for(request, token, api_request: ApiRequest, endpoint: str) -> uuid.UUID:
    """The job this request answers with: a new one, or the one its key already made."""
    key = (request.headers.get("Idempotency-Key") or "").strip() or None
    if key is not None and len(key) > 200:
        raise ApiError(_("The Idempotency-Key is longer than 200 characters."), retry=False)
    fingerprint = api_request.fingerprint(endpoint)
    for _attempt in range(3):
        claim = await run_briefly(services.idempotency_claim)(
            token=token, key=key, endpoint=endpoint, fingerprint=fingerprint
        )
        if claim is None:
            return await run_briefly(_create)(token=token, request=api_request, record=None)
        record, first = claim
        if first:
            return await run_briefly(_create)(token=token, request=api_request, record=record)
        if record.fingerprint != fingerprint:
            raise ApiError(
                _(
                    "This Idempotency-Key was used for a different request; use a new key "
                    "for a new request."
                ),
                param="Idempotency-Key",
                code="idempotency_key_reused",
                retry=False,
            )
        if record.job_id is not None:
            return record.job_id
        job_id = await _claimed_job(record.pk)
        if job_id:
            return job_id
    raise ApiError(
        _("An identical request is being made right now; try again in a moment."),
        status=409,
        code="request_in_progress",
    )


async def _claimed_job(record_id: int):
    """The job of a claim whose first request is still making it (None if it gave up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLAIM_WAIT_SECONDS
    while loop.time() < deadline:
        job_id = await run_briefly(services.idempotency_job_id)(record_id=record_id)
        if job_id is False:
            return None
        if job_id is not None:
            return job_id
        await asyncio.sleep(0.2)
    return None


# -- answering ------------------------------------------------------------------------------


def _hold_seconds() -> int:
    return settings.ATELIER_API_HOLD_SECONDS


async def _finished_result(job_id: uuid.UUID) -> selectors.JobResult | None:
    """The job once it has ended; None when the hold runs out first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _hold_seconds()
    state: JobState | None = None
    while True:
        state = await watcher().next_state(
            job_id, known=state, timeout=max(0.0, deadline - loop.time())
        )
        if state is None:
            return None
        if state.status in TERMINAL:
            break
    result = await run_briefly(selectors.job_result)(job_id=job_id)
    if result is None:
        raise ApiError(_("That job no longer exists."), status=404, code="job_not_found")
    return result


async def _images_answer(request, token, job_id: uuid.UUID, api_request: ApiRequest):
    result = await _finished_result(job_id)
    if result is None:
        raise answers.still_running_error(job_id, waited=_hold_seconds())
    error = answers.outcome_error(result)
    if error is not None:
        raise error
    if token.team_id is not None:
        await run_briefly(services.api_images_share)(token=token, result=result)
    body = await run_briefly(answers.images_response)(
        result,
        response_format=api_request.response_format,
        base_url=request.build_absolute_uri("/"),
    )
    response = JsonResponse(body)
    response["x-atelier-job-id"] = str(job_id)
    return response


async def _events(token, job_id: uuid.UUID, kind: Kind, params: dict):
    """The Images API's stream: a partial_image event per preview the job stores, then one
    completed event per image, or an error event."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _hold_seconds()
    state: JobState | None = None
    sent: set[str] = set()
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            late = answers.still_running_error(job_id, waited=_hold_seconds())
            yield answers.sse(answers.error_event(late))
            return
        new = await watcher().next_state(
            job_id, known=state, timeout=min(remaining, KEEPALIVE_SECONDS)
        )
        if new is None:
            yield b": keep-alive\n\n"
            continue
        state = new
        key = state.partial_image_key
        if key and key not in sent:
            sent.add(key)
            event = await run_briefly(answers.partial_event)(kind=kind, key=key, params=params)
            if event is not None:
                yield answers.sse(event)
        if state.status in TERMINAL:
            break
    result = await run_briefly(selectors.job_result)(job_id=job_id)
    if result is None:
        gone = ApiError(_("That job no longer exists."), status=404, code="job_not_found")
        yield answers.sse(answers.error_event(gone))
        return
    failure = answers.outcome_error(result)
    if failure is not None:
        yield answers.sse(answers.error_event(failure))
        return
    if token.team_id is not None:
        await run_briefly(services.api_images_share)(token=token, result=result)
    for event in await run_briefly(answers.completed_events)(result, kind=kind):
        yield answers.sse(event)


async def _images(request, *, kind: Kind, endpoint: str):
    if request.method != "POST":
        return ApiError(_("Use POST."), status=405, code="method_not_allowed").response()
    try:
        token = await _authenticate(request, scope="generate")
        api_request = await run_briefly(_parse)(request, kind)
        if api_request.stream and kind is Kind.VARIATION:
            raise ApiError(_("Variations do not stream."), param="stream", code="invalid_value")
        job_id = await _job_for(request, token, api_request, endpoint)
        if api_request.stream:
            response = StreamingHttpResponse(
                _events(token, job_id, kind, api_request.params),
                content_type="text/event-stream",
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"  # nginx: pass events on as they come
            response["x-atelier-job-id"] = str(job_id)
            return response
        return await _images_answer(request, token, job_id, api_request)
    except ApiError as error:
        return error.response()
    except Exception:
        return _unexpected(request)


def _unexpected(request):
    """An error nobody expected (the database refusing connections, a bug) in the OpenAI
    shape. Retrying is safe: a job made before the failure is found again by its key."""
    logger.exception("unexpected error answering %s", request.path)
    return ApiError(
        _("Atelier could not answer this request; try again."),
        status=500,
        type="server_error",
        code="server_error",
    ).response()


@csrf_exempt
async def generations(request):
    return await _images(request, kind=Kind.GENERATE, endpoint="generations")


@csrf_exempt
async def edits(request):
    return await _images(request, kind=Kind.EDIT, endpoint="edits")


@csrf_exempt
async def variations(request):
    return await _images(request, kind=Kind.VARIATION, endpoint="variations")


def _message_text(message) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


def _parse_chat(request) -> ApiRequest:
    """A chat request to one of the chat-completion image models: the last user message is
    the prompt. Chat front ends send many sampling options; they do not apply and are
    ignored."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(_("We could not parse the JSON body of your request.")) from None
    if not isinstance(body, dict):
        raise ApiError(_("The request body must be a JSON object."))
    chat_models = {s.name for s in selectors.api_models() if s.family.value == "chat_completions"}
    model = body.get("model")
    if not isinstance(model, str) or model not in chat_models:
        raise ApiError(
            _(
                "The model '%(model)s' is not a chat-completion image model offered here; "
                "these are: %(models)s. Other models answer at /v1/images/generations."
            )
            % {"model": model, "models": ", ".join(sorted(chat_models)) or "-"},
            status=404,
            param="model",
            code="model_not_found",
        )
    messages = body.get("messages")
    users = (
        [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if (isinstance(messages, list))
        else []
    )
    prompt = _message_text(users[-1]).strip() if users else ""
    if not prompt:
        raise ApiError(
            _("Send at least one user message with text."), param="messages", code="invalid_value"
        )
    return ApiRequest(
        kind=Kind.GENERATE,
        model=model,
        prompt=prompt,
        params={},
        response_format="url",
        stream=_flag(body.get("stream")),
    )


async def _chat_events(job_id: uuid.UUID, model: str, base_url: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _hold_seconds()
    state: JobState | None = None
    while state is None or state.status not in TERMINAL:
        remaining = deadline - loop.time()
        if remaining <= 0:
            late = answers.still_running_error(job_id, waited=_hold_seconds())
            yield f"data: {json.dumps(late.body())}\n\n".encode()
            return
        new = await watcher().next_state(
            job_id, known=state, timeout=min(remaining, KEEPALIVE_SECONDS)
        )
        if new is None:
            yield b": keep-alive\n\n"
            continue
        state = new
    result = await run_briefly(selectors.job_result)(job_id=job_id)
    failure = (
        ApiError(_("That job no longer exists."), status=404, code="job_not_found")
        if result is None
        else answers.outcome_error(result)
    )
    if failure is not None or result is None:
        yield f"data: {json.dumps((failure or ApiError('')).body())}\n\n".encode()
        return
    for chunk in answers.chat_chunks(result, model=model, base_url=base_url):
        yield chunk


@csrf_exempt
async def chat_completions(request):
    if request.method != "POST":
        return ApiError(_("Use POST."), status=405, code="method_not_allowed").response()
    try:
        token = await _authenticate(request, scope="generate")
        api_request = await run_briefly(_parse_chat)(request)
        job_id = await _job_for(request, token, api_request, "chat")
        base_url = request.build_absolute_uri("/")
        if api_request.stream:
            response = StreamingHttpResponse(
                _chat_events(job_id, api_request.model, base_url),
                content_type="text/event-stream",
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            response["x-atelier-job-id"] = str(job_id)
            return response
        result = await _finished_result(job_id)
        if result is None:
            raise answers.still_running_error(job_id, waited=_hold_seconds())
        error = answers.outcome_error(result)
        if error is not None:
            raise error
        if token.team_id is not None:
            await run_briefly(services.api_images_share)(token=token, result=result)
        body = answers.chat_completion(result, model=api_request.model, base_url=base_url)
        answer = JsonResponse(body)
        answer["x-atelier-job-id"] = str(job_id)
        return answer
    except ApiError as error:
        return error.response()
    except Exception:
        return _unexpected(request)


async def models(request):
    try:
        await _authenticate(request, scope=None)
    except ApiError as error:
        return error.response()
    specs = await run_briefly(selectors.api_models)()
    data = [
        {"id": spec.name, "object": "model", "created": 0, "owned_by": spec.family.value}
        for spec in specs
    ]
    return JsonResponse({"object": "list", "data": data})


def _image_redirect(token: str) -> str:
    from django.core.files.storage import default_storage

    from gallery.models import Image

    try:
        image_id = answers.image_id_from_link(token)
    except (signing.BadSignature, ValueError):
        raise ApiError(
            _("This image link is invalid or has expired."), status=404, code="link_expired"
        ) from None
    key = (
        Image.objects.filter(id=image_id, is_hidden=False)
        .values_list("original_key", flat=True)
        .first()
    )
    if key is None:
        raise ApiError(_("This image no longer exists."), status=404, code="image_not_found")
    return default_storage.url(key)


async def image_file(request, token: str):
    """The link an answer's ``url`` holds: a redirect to a fresh short-lived storage link."""
    try:
        return HttpResponseRedirect(await run_briefly(_image_redirect)(token))
    except ApiError as error:
        return error.response()


@csrf_exempt
async def not_found(request, path: str = ""):
    return ApiError(
        _("Atelier does not serve %(path)s.") % {"path": request.path}, status=404, code=None
    ).response()
