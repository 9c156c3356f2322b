"""OpenAI Images API (and proxies of it) through the official SDK.

The SDK's own retries are off: whether and when to retry is the job's decision,
made once in ``jobs.services``.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import time
import warnings
from collections.abc import Mapping

import httpx2  # the SDK's own HTTP client (an httpx fork)
import openai
from django.conf import settings

from jobs.connections import Connection
from jobs.providers.base import JobInputs, PartialCallback, ProviderResult
from jobs.providers.errors import CATALOG, ProviderError
from jobs.registry import ModelSpec

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    401: "invalid_api_key",
    402: "insufficient_user_quota",
    403: "access_denied",
    404: "endpoint_not_found",
    429: "rate_limit_exceeded",
}


def _client(connection: Connection) -> openai.OpenAI:
    """One SDK client (one HTTP connection pool) per connection and key in this process,
    shared by every thread or greenlet that calls it."""
    return _shared_client(
        connection.name,
        connection.base_url,
        connection.api_key,
        settings.ATELIER_PROVIDER_TIMEOUT,
        settings.ATELIER_PROVIDER_MAX_CONNECTIONS,
    )


@functools.lru_cache(maxsize=64)
def _shared_client(
    name: str, base_url: str, api_key: str, timeout: float, max_connections: int
) -> openai.OpenAI:
    # As many connections as the worker has calls in flight (so a call never waits for a
    # free one: a pool wait the SDK would report as a timeout); a few kept alive between.
    limits = httpx2.Limits(
        max_connections=max_connections,
        max_keepalive_connections=min(32, max_connections),
        keepalive_expiry=30,
    )
    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key,
        max_retries=0,
        timeout=openai.Timeout(timeout, connect=min(10.0, timeout)),
        http_client=openai.DefaultHttpxClient(limits=limits),
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from Retry-After (seconds or HTTP date) or x-ratelimit-reset-*."""
    raw = headers.get("retry-after-ms")
    if raw:
        try:
            return max(0.0, float(raw) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if raw else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    # x-ratelimit-reset-{requests,tokens,images}: wait for the longest exhausted one,
    # or the longest one at all when none says it is exhausted.
    resets = {}
    for name, raw in headers.items():
        if name.lower().startswith("x-ratelimit-reset-") and raw:
            seconds = _duration_seconds(raw)
            if seconds is not None:
                resets[name.lower().removeprefix("x-ratelimit-reset-")] = seconds
    exhausted = [
        seconds
        for bucket, seconds in resets.items()
        if headers.get(f"x-ratelimit-remaining-{bucket}", "").strip() == "0"
    ]
    if exhausted or resets:
        return max(exhausted or resets.values())
    return None


def _duration_seconds(raw: str) -> float | None:
    """OpenAI writes resets as '1s', '6m0s', '20ms'."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if raw.startswith("ms", i) else ch
        if unit not in units or not number:
            return None
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    return total if not number else total + float(number)


def error_from_status(exc: openai.APIStatusError) -> ProviderError:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    error = error if isinstance(error, dict) else {}
    code = error.get("code") or error.get("type") or ""
    detail = str(error.get("message") or exc.message or "")[:500]
    status = exc.status_code
    if code not in CATALOG:
        code = _STATUS_CODES.get(status) or (
            "provider_unavailable" if status >= 500 else "invalid_request"
        )
    return ProviderError(
        code,
        detail=detail,
        http_status=status,
        retry_after=retry_after_seconds(exc.response.headers),
    )


def call_safely(fn):
    """Run one SDK call and turn every failure into a ProviderError."""
    try:
        return fn()
    except openai.APITimeoutError as exc:
        if isinstance(exc.__cause__, (httpx2.ConnectTimeout, httpx2.PoolTimeout)):
            # Never sent: no connection was made (or none was free), nothing was billed.
            raise ProviderError("connection_error", detail=str(exc)) from exc
        # Sent, but no answer: the provider may have made and billed the image.
        raise ProviderError("timeout_unknown_outcome", detail=str(exc)) from exc
    except openai.APIConnectionError as exc:
        raise ProviderError("connection_error", detail=str(exc)) from exc
    except openai.APIStatusError as exc:
        raise error_from_status(exc) from exc
    except (openai.APIResponseValidationError, ValueError) as exc:
        raise ProviderError("bad_response", detail=str(exc)[:500]) from exc
    except openai.APIError as exc:
        raise _error_from_body(exc) from exc


def _error_from_body(exc: openai.APIError) -> ProviderError:
    """An error event inside a 200 stream: its code if we know it, else an unreadable answer."""
    body = exc.body if isinstance(exc.body, dict) else {}
    code = body.get("code") or body.get("type") or ""
    return ProviderError(
        code if code in CATALOG else "bad_response", detail=str(body.get("message") or exc)[:500]
    )


def _reported(response_or_event, usage: dict) -> dict:
    for name in ("output_format", "quality", "size", "background"):
        value = getattr(response_or_event, name, None)
        if value:
            usage.setdefault("reported", {})[name] = value
    return usage


def _result(response) -> ProviderResult:
    if isinstance(response, str) or not hasattr(response, "data"):
        raise ProviderError("bad_response", detail="The answer was not an images response.")
    if not response.data:
        raise ProviderError("no_images")
    items = [
        {"b64_json": d.b64_json, "url": d.url, "revised_prompt": d.revised_prompt or ""}
        for d in response.data
    ]
    usage = response.usage.model_dump() if response.usage else {}
    return ProviderResult(items=items, usage=_reported(response, usage))


def _streamed_result(stream, on_partial: PartialCallback | None) -> ProviderResult:
    """Relay partial images as they arrive; the completed events are the answer."""
    items: list[dict] = []
    usage: dict = {}
    try:
        for event in stream:
            kind = getattr(event, "type", "")
            if kind.endswith(".partial_image"):
                if on_partial is None or not isinstance(event.b64_json, str):
                    continue
                # As received: decoding it is CPU work, the CPU stage's.
                on_partial(event.partial_image_index, event.b64_json, event.output_format or "png")
            elif kind.endswith(".completed"):
                items.append({"b64_json": event.b64_json, "url": None, "revised_prompt": ""})
                event_usage = event.usage.model_dump() if getattr(event, "usage", None) else {}
                for key, value in event_usage.items():
                    if isinstance(value, int):
                        usage[key] = usage.get(key, 0) + value
                    else:
                        usage.setdefault(key, value)
                _reported(event, usage)
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        # The request was accepted and is being rendered: never send it again.
        raise ProviderError("timeout_unknown_outcome", detail=str(exc)) from exc
    except openai.APIError as exc:
        raise _error_from_body(exc) from exc
    except ValueError as exc:
        raise ProviderError("bad_response", detail=str(exc)[:500]) from exc
    finally:
        stream.close()
    if not items:
        raise ProviderError("bad_response", detail="The stream ended before the final image.")
    return ProviderResult(items=items, usage=usage)


def _answer(response, on_partial: PartialCallback | None) -> ProviderResult:
    if isinstance(response, openai.Stream):
        return _streamed_result(response, on_partial)
    return _result(response)


class OpenAIImagesProvider:
    def generate(
        self, *, connection, spec: ModelSpec, prompt, params, user_ref, on_partial=None
    ) -> ProviderResult:
        kwargs = spec.generation_kwargs(prompt=prompt, params=params)
        kwargs["user"] = user_ref
        response = call_safely(lambda: _client(connection).images.generate(**kwargs))
        return _answer(response, on_partial)

    def edit(
        self,
        *,
        connection,
        spec: ModelSpec,
        prompt,
        params,
        user_ref,
        inputs: JobInputs,
        on_partial=None,
    ) -> ProviderResult:
        kwargs = spec.edit_kwargs(prompt=prompt, params=params)
        uploads = [image.as_upload() for image in inputs.images]
        # DALL·E 2 takes exactly one `image`; GPT image models take an `image[]` array.
        kwargs["image"] = uploads if len(uploads) > 1 else uploads[0]
        if inputs.mask is not None:
            kwargs["mask"] = inputs.mask.as_upload()
        kwargs["user"] = user_ref
        response = call_safely(lambda: _client(connection).images.edit(**kwargs))
        return _answer(response, on_partial)

    def create_variation(
        self, *, connection, spec: ModelSpec, params, user_ref, inputs: JobInputs
    ) -> ProviderResult:
        kwargs = spec.variation_kwargs(params=params)
        kwargs["image"] = inputs.images[0].as_upload()
        kwargs["user"] = user_ref
        client = _client(connection)

        def call():
            # The SDK marks the endpoint deprecated; proxies still serve it for DALL·E 2.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return client.images.create_variation(**kwargs)

        return _result(call_safely(call))
