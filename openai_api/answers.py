"""Jobs as the Images API answers them: ImagesResponse bodies, stream events and errors."""

from __future__ import annotations

import base64
import json
import time

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.translation import gettext as _

from jobs.models import GenerationJob
from jobs.registry import Kind
from moderation.services import PROVIDER_REFUSAL_CODES
from openai_api.errors import ApiError
from openai_api.selectors import ImageRow, JobResult

IMAGE_LINK_SALT = "openai_api.image"
Status = GenerationJob.Status
_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}
_QUALITIES = ("low", "medium", "high", "xhigh", "max", "auto")


def image_link(*, image_id: int, base_url: str) -> str:
    """A link to one stored image, valid for ATELIER_API_IMAGE_URL_SECONDS: it answers with
    a fresh short-lived storage link, so its lifetime is the operator's, not the bucket's."""
    token = signing.dumps(image_id, salt=IMAGE_LINK_SALT)
    return base_url.rstrip("/") + reverse("openai_api:image", args=[token])


def image_id_from_link(token: str) -> int:
    """Raises signing.BadSignature (SignatureExpired included) for a bad or old link."""
    return int(
        signing.loads(token, salt=IMAGE_LINK_SALT, max_age=settings.ATELIER_API_IMAGE_URL_SECONDS)
    )


def _read(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def _b64(key: str) -> str:
    return base64.b64encode(_read(key)).decode()


def _usage(result: JobResult) -> dict | None:
    usage = result.usage
    if isinstance(usage.get("input_tokens"), int) and isinstance(usage.get("total_tokens"), int):
        usage = dict(usage)
        usage.setdefault(
            "input_tokens_details", {"image_tokens": 0, "text_tokens": usage["input_tokens"]}
        )
        usage.setdefault("output_tokens", usage["total_tokens"] - usage["input_tokens"])
        return usage
    return None


def _settings_of(result: JobResult, first: ImageRow | None) -> dict:
    """background, output_format, quality and size, as far as the job knows them."""
    shape: dict = {}
    if first is not None:
        shape["output_format"] = _FORMATS.get(first.format.upper(), first.format.lower())
        shape["size"] = f"{first.width}x{first.height}"
    if result.params.get("background") in ("transparent", "opaque"):
        shape["background"] = result.params["background"]
    if result.params.get("quality") in _QUALITIES and result.params["quality"] != "auto":
        shape["quality"] = result.params["quality"]
    return shape


def outcome_error(result: JobResult) -> ApiError | None:
    """The error a finished job without images answers with; None when it has images."""
    if result.images and (result.status == Status.SUCCEEDED or result.kept_after_cancel):
        return None
    job = result.id
    if result.status == Status.SUCCEEDED:
        return ApiError(
            _("The images of job %(job)s were hidden by moderation.") % {"job": job},
            code="content_policy_violation",
            retry=False,
            job_id=job,
        )
    if result.error_code in PROVIDER_REFUSAL_CODES:
        return ApiError(
            _("The provider refused this request (job %(job)s): %(message)s")
            % {"job": job, "message": result.error_message},
            code="content_policy_violation",
            retry=False,
            job_id=job,
        )
    if result.status == Status.CANCELLED:
        return ApiError(
            _("Job %(job)s was cancelled.") % {"job": job},
            status=409,
            type="invalid_request_error",
            code="job_cancelled",
            retry=False,
            job_id=job,
        )
    if result.status == Status.UNKNOWN:
        return ApiError(
            _(
                "Job %(job)s ended without a known outcome: the provider may have made (and "
                "billed) the image without Atelier receiving it. %(message)s"
            )
            % {"job": job, "message": result.error_message},
            status=502,
            type="server_error",
            code="job_outcome_unknown",
            retry=False,
            job_id=job,
        )
    return ApiError(
        _("Job %(job)s failed: %(message)s") % {"job": job, "message": result.error_message},
        status=502,
        type="server_error",
        code=result.error_code or "job_failed",
        retry=False,
        job_id=job,
    )


def still_running_error(job_id, *, waited: int) -> ApiError:
    """The hold ran out: the job carries on. A retry (the SDKs retry 504 themselves) waits
    for the same job again, so it is allowed."""
    return ApiError(
        _(
            "Job %(job)s is still running after %(seconds)d s. It carries on and its images "
            "will be in your Atelier gallery; send the same request again (same body, or the "
            "same Idempotency-Key) to wait for its answer."
        )
        % {"job": job_id, "seconds": waited},
        status=504,
        type="server_error",
        code="job_still_running",
        retry=True,
        job_id=job_id,
    )


def images_response(result: JobResult, *, response_format: str, base_url: str) -> dict:
    """An ImagesResponse body (openai.types.ImagesResponse) for a job with images."""
    data = []
    for image in result.images:
        item: dict = {}
        if response_format == "url":
            item["url"] = image_link(image_id=image.id, base_url=base_url)
        else:
            item["b64_json"] = _b64(image.key)
        if image.revised_prompt:
            item["revised_prompt"] = image.revised_prompt
        data.append(item)
    body = {"created": result.created, "data": data}
    body.update(_settings_of(result, result.images[0] if result.images else None))
    usage = _usage(result)
    if usage is not None:
        body["usage"] = usage
    return body


# -- streaming: the Images API's server-sent events --------------------------------------


def _prefix(kind: Kind) -> str:
    return "image_edit" if kind is Kind.EDIT else "image_generation"


def sse(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _stream_common(params: dict) -> dict:
    quality = params.get("quality") if params.get("quality") in _QUALITIES else "auto"
    return {
        "background": params.get("background") or "auto",
        "output_format": params.get("output_format") or "png",
        "quality": quality,
        "size": params.get("size") or "auto",
    }


def partial_event(*, kind: Kind, key: str, params: dict) -> dict | None:
    """The event for a stored partial preview; None when it is already gone (the job
    deletes its previews once the final image is stored)."""
    try:
        data = _read(key)
    except Exception:  # deleted under us, or storage briefly away: previews are optional
        return None
    try:
        index = int(key.rsplit("/", 1)[-1].split(".", 1)[0])
    except ValueError:
        index = 0
    return {
        "type": f"{_prefix(kind)}.partial_image",
        "b64_json": base64.b64encode(data).decode(),
        "partial_image_index": index,
        "created_at": int(time.time()),
        **_stream_common(params),
    }


def completed_events(result: JobResult, *, kind: Kind) -> list[dict]:
    usage = _usage(result) or {
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
    }
    events = []
    for image in result.images:
        common = _stream_common(result.params)
        common["size"] = f"{image.width}x{image.height}"
        common["output_format"] = _FORMATS.get(image.format.upper(), "png")
        events.append(
            {
                "type": f"{_prefix(kind)}.completed",
                "b64_json": _b64(image.key),
                "created_at": int(time.time()),
                "usage": usage,
                **common,
            }
        )
    return events


def error_event(error: ApiError) -> dict:
    return {"type": "error", **error.body()}


# -- chat completions: the chat-completion image models, answered as a chat reply --------


def chat_content(result: JobResult, *, base_url: str) -> str:
    """The reply's text: Markdown image links to the stored images (which chat front ends
    show inline), after any text the provider sent alongside."""
    links = [
        f"![{_('image %(number)d') % {'number': number}}]"
        f"({image_link(image_id=image.id, base_url=base_url)})"
        for number, image in enumerate(result.images, start=1)
    ]
    return "\n\n".join(links)


def chat_completion(result: JobResult, *, model: str, base_url: str) -> dict:
    """A ChatCompletion body (openai.types.chat.ChatCompletion)."""
    return {
        "id": f"chatcmpl-{result.id.hex}",
        "object": "chat.completion",
        "created": result.created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": chat_content(result, base_url=base_url),
                    "refusal": None,
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def chat_chunks(result: JobResult, *, model: str, base_url: str) -> list[bytes]:
    """The same reply as chat.completion.chunk events, then ``[DONE]``."""

    def chunk(delta: dict, finish: str | None) -> bytes:
        body = {
            "id": f"chatcmpl-{result.id.hex}",
            "object": "chat.completion.chunk",
            "created": result.created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    return [
        chunk({"role": "assistant", "content": ""}, None),
        chunk({"content": chat_content(result, base_url=base_url)}, None),
        chunk({}, "stop"),
        b"data: [DONE]\n\n",
    ]
