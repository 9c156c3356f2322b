"""Midjourney through a midjourney-proxy style task API (seed 002), with httpx.

Midjourney has no official API or SDK. A task is submitted once (``/mj/submit/*``),
then polled (``/mj/task/{id}/fetch``) until it succeeds or fails; the job logic in
``jobs.services`` decides when to poll, so nothing here sleeps.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from jobs.connections import Connection
from jobs.providers.base import InputFile
from jobs.providers.errors import ProviderError

# Submit result codes, as midjourney-proxy's ReturnCode defines them.
SUBMITTED_CODES = {1, 21, 22}  # ok, already exists (same task), queued
SUBMIT_ERRORS = {
    3: "mj_not_found",
    4: "mj_validation_error",
    9: "mj_failure",
    23: "mj_queue_full",
    24: "mj_banned_prompt",
}
_HTTP_ERRORS = {401: "invalid_api_key", 403: "access_denied", 404: "endpoint_not_found"}

FINISHED = {"SUCCESS", "FAILURE", "CANCEL"}
# Buttons that need input Atelier cannot give (Vary (Region) wants a painted mask) are
# not offered, rather than offered and failing at the proxy.
UNSUPPORTED_BUTTON_PREFIXES = ("MJ::Inpaint::",)


@dataclass(frozen=True)
class SubmitResult:
    task_id: str
    code: int
    description: str = ""


@dataclass(frozen=True)
class MidjourneyTask:
    id: str
    status: str
    progress: str = ""
    image_url: str = ""
    fail_reason: str = ""
    prompt: str = ""
    final_prompt: str = ""
    buttons: list[dict] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_json(cls, data: dict) -> MidjourneyTask:
        if not isinstance(data, dict) or not data.get("id"):
            raise ProviderError("bad_response", detail="A task without an id.")
        properties = data.get("properties")
        if not isinstance(properties, dict):
            properties = {}
        buttons = [
            {
                "custom_id": b["customId"],
                "label": b.get("label") or "",
                "emoji": b.get("emoji") or "",
            }
            for b in data.get("buttons") or []
            if isinstance(b, dict)
            and b.get("customId")
            and not str(b["customId"]).startswith(UNSUPPORTED_BUTTON_PREFIXES)
        ]
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            progress=str(data.get("progress") or ""),
            image_url=str(data.get("imageUrl") or ""),
            fail_reason=str(data.get("failReason") or ""),
            prompt=str(data.get("prompt") or ""),
            final_prompt=str(properties.get("finalPrompt") or data.get("promptEn") or ""),
            buttons=buttons,
        )


def _data_url(image: InputFile) -> str:
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode()}"


class MidjourneyClient:
    def __init__(self, connection: Connection):
        self.base_url = connection.base_url.rstrip("/")
        self._api_key = connection.api_key

    def _headers(self) -> dict:
        # midjourney-proxy reads mj-api-secret; hosted proxies take a bearer token.
        if not self._api_key:
            return {}
        return {"Authorization": f"Bearer {self._api_key}", "mj-api-secret": self._api_key}

    def _request(
        self,
        method: str,
        path: str,
        *,
        json=None,
        sending: bool = False,
        timeout: float | None = None,
    ):
        timeout = timeout or settings.ATELIER_PROVIDER_TIMEOUT
        try:
            response = httpx.request(
                method,
                f"{self.base_url}{path}",
                json=json,
                headers=self._headers(),
                timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            )
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.LocalProtocolError,
            httpx.UnsupportedProtocol,
        ) as exc:
            # Nothing reached Midjourney: safe to try again.
            raise ProviderError("connection_error", detail=str(exc)) from exc
        except httpx.HTTPError as exc:
            # Sent, but no (readable) answer: a submit may have created and billed a task.
            code = "timeout_unknown_outcome" if sending else "connection_error"
            raise ProviderError(code, detail=str(exc)) from exc
        if response.status_code >= 400:
            code = _HTTP_ERRORS.get(response.status_code) or (
                "rate_limit_exceeded"
                if response.status_code == 429
                else "provider_unavailable"
                if response.status_code >= 500
                else "invalid_request"
            )
            raise ProviderError(code, detail=response.text[:300], http_status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError("bad_response", detail=response.text[:300]) from exc

    def _submit(self, path: str, payload: dict) -> SubmitResult:
        data = self._request("POST", path, json=payload, sending=True)
        if not isinstance(data, dict):
            raise ProviderError("bad_response", detail=str(data)[:300])
        raw_code: Any = data.get("code")  # whatever the proxy sent; int() decides
        try:
            code = int(raw_code)
        except (TypeError, ValueError):
            raise ProviderError("bad_response", detail=str(data)[:300]) from None
        description = str(data.get("description") or "")
        if code in SUBMITTED_CODES and data.get("result"):
            return SubmitResult(task_id=str(data["result"]), code=code, description=description)
        raise ProviderError(
            SUBMIT_ERRORS.get(code, "mj_submit_failed"), detail=f"code {code}: {description}"
        )

    def imagine(self, *, prompt: str, images: Sequence[InputFile] = ()) -> SubmitResult:
        payload = {"prompt": prompt, "base64Array": [_data_url(i) for i in images]}
        return self._submit("/mj/submit/imagine", payload)

    def blend(self, *, images: list[InputFile], dimensions: str = "SQUARE") -> SubmitResult:
        payload = {"base64Array": [_data_url(i) for i in images], "dimensions": dimensions}
        return self._submit("/mj/submit/blend", payload)

    def describe(self, *, image: InputFile) -> SubmitResult:
        return self._submit("/mj/submit/describe", {"base64": _data_url(image)})

    def action(self, *, task_id: str, custom_id: str) -> SubmitResult:
        return self._submit("/mj/submit/action", {"taskId": task_id, "customId": custom_id})

    def modal(self, *, task_id: str, prompt: str) -> SubmitResult:
        """Confirm a task an action left waiting in a modal (status MODAL, submit code 21)."""
        return self._submit("/mj/submit/modal", {"taskId": task_id, "prompt": prompt})

    def fetch(self, task_id: str) -> MidjourneyTask:
        try:
            data = self._request("GET", f"/mj/task/{task_id}/fetch")
        except ProviderError as exc:
            if exc.code == "endpoint_not_found":
                raise ProviderError("mj_task_lost", detail=exc.detail, http_status=404) from exc
            raise
        if data is None:  # midjourney-proxy answers a bare null for an unknown id
            raise ProviderError("mj_task_lost", detail="null")
        return MidjourneyTask.from_json(data)

    def list_by_condition(self, task_ids: list[str]) -> list[MidjourneyTask]:
        data = self._request("POST", "/mj/task/list-by-condition", json={"ids": task_ids})
        if not isinstance(data, list):
            raise ProviderError("bad_response", detail=str(data)[:300])
        return [MidjourneyTask.from_json(item) for item in data]

    def cancel(self, task_id: str, *, timeout: float | None = None) -> None:
        self._request("POST", f"/mj/task/{task_id}/cancel", timeout=timeout)


_NUMBER_MARK = re.compile(r"^\s*(?:[1-9]\ufe0f?\u20e3|[1-9][.)])\s*")


def described_prompts(text: str) -> list[str]:
    """The separate prompts in a describe task's answer, without their 1️⃣ 2️⃣ … markers."""
    prompts = []
    for block in re.split(r"\n\s*\n", text or ""):
        prompt = _NUMBER_MARK.sub("", block.strip()).strip()
        if prompt:
            prompts.append(prompt)
    return prompts


def button_name(button: dict) -> str:
    """A button's words: its label, or for an emoji-only one (reroll, pan arrows) the name
    in its custom id, e.g. ``MJ::JOB::reroll::0::…`` → "Reroll"."""
    if button.get("label"):
        return str(button["label"])
    parts = str(button.get("custom_id") or "").split("::")
    name = parts[2] if len(parts) > 2 and parts[1] == "JOB" else parts[1] if len(parts) > 1 else ""
    return name.replace("_", " ").capitalize()
