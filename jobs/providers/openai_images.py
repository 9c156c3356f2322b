"""OpenAI Images API (and proxies of it) through the official SDK.

The SDK's own retries are off: whether and when to retry is the job's decision,
made once in ``jobs.services``.
"""

from __future__ import annotations

import email.utils
import time

import httpx
import openai
from django.conf import settings

from jobs.connections import Connection
from jobs.providers.base import ProviderResult
from jobs.providers.errors import CATALOG, ProviderError
from jobs.registry import ModelSpec

_STATUS_CODES = {
    401: "invalid_api_key",
    402: "insufficient_user_quota",
    429: "rate_limit_exceeded",
}


def _client(connection: Connection) -> openai.OpenAI:
    timeout = settings.ATELIER_PROVIDER_TIMEOUT
    return openai.OpenAI(
        base_url=connection.base_url,
        api_key=connection.api_key,
        max_retries=0,
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
    )


def retry_after_seconds(headers: httpx.Headers) -> float | None:
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
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-images"):
        raw = headers.get(name)
        if raw:
            return _duration_seconds(raw)
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
        # Sent, but no answer: the provider may have made and billed the image.
        raise ProviderError("timeout_unknown_outcome", detail=str(exc)) from exc
    except openai.APIConnectionError as exc:
        raise ProviderError("connection_error", detail=str(exc)) from exc
    except openai.APIStatusError as exc:
        raise error_from_status(exc) from exc
    except (openai.APIResponseValidationError, ValueError) as exc:
        raise ProviderError("bad_response", detail=str(exc)[:500]) from exc


class OpenAIImagesProvider:
    def generate(self, *, connection, spec: ModelSpec, prompt, params, user_ref) -> ProviderResult:
        kwargs = spec.generation_kwargs(prompt=prompt, params=params)
        kwargs["user"] = user_ref
        response = call_safely(lambda: _client(connection).images.generate(**kwargs))
        if isinstance(response, str) or not getattr(response, "data", None):
            raise ProviderError("no_images" if not isinstance(response, str) else "bad_response")
        items = [
            {"b64_json": d.b64_json, "url": d.url, "revised_prompt": d.revised_prompt or ""}
            for d in response.data
        ]
        usage = response.usage.model_dump() if response.usage else {}
        for name in ("output_format", "quality", "size", "background"):
            value = getattr(response, name, None)
            if value:
                usage.setdefault("reported", {})[name] = value
        return ProviderResult(items=items, usage=usage)
