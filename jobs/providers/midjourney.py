"""Midjourney through a midjourney-proxy style task API (seed 002), with httpx.

Midjourney has no official API or SDK. A task is submitted once (``/mj/submit/*``); the
proxy then POSTs the task to the submit's ``notifyHook`` on every change, and the task can
be polled (``/mj/task/{id}/fetch``, or many at once with ``/mj/task/list-by-condition``)
until it succeeds or fails. The job logic in ``jobs.services`` decides when to poll, so
nothing here sleeps.

Shapes follow trueai-org/midjourney-proxy 11.10.3 (commit ed32197657d7, August 2026):
``SubmitController`` (imagine, blend, describe, shorten, action, modal with
``maskBase64``), ``TaskController`` (fetch, cancel, list-by-condition, image-seed),
``InsightFaceController`` (swap), ``BaseSubmitDTO`` (``notifyHook``, ``state``) and
``NotifyService`` (the callback body is the task itself, camelCase, unsigned). Its
``GET /mj/task/queue`` was withdrawn in 10.0.1; older proxies still answer it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
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
WAITING = {"NOT_START", "SUBMITTED"}
# Buttons whose action opens a modal the proxy waits on: Atelier asks for the prompt (and
# for Vary (Region), a painted mask) before the action is sent.
MODAL_BUTTON_PREFIXES = ("MJ::CustomZoom::", "MJ::Inpaint::", "MJ::Job::PicReader::")
INPAINT_PREFIX = "MJ::Inpaint::"
# The order of a task's states, as the proxy's NotifyService compares them: an
# observation that sorts below the one already seen is out of date. A modal sorts
# lowest (it is confirmed into SUBMITTED); a cancel is as final as a failure.
_STATUS_ORDER = {
    "NOT_START": 0.0,
    "MODAL": 0.0,
    "SUBMITTED": 1.0,
    "IN_PROGRESS": 3.0,
    "FAILURE": 4.0,
    "CANCEL": 4.0,
    "SUCCESS": 5.0,
}
_QUEUED_AHEAD = re.compile(r"前面还有\s*(\d+)\s*个任务|(\d+)\s+(?:tasks?\s+)?ahead", re.IGNORECASE)


@dataclass(frozen=True)
class SubmitResult:
    task_id: str
    code: int
    description: str = ""

    @property
    def queue_position(self) -> int | None:
        """The task's place in the proxy's queue when the submit says (code 22: "排队中，
        前面还有1个任务", one task ahead, so second in line)."""
        match = _QUEUED_AHEAD.search(self.description) if self.code == 22 else None
        return int(match[1] or match[2]) + 1 if match else None


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
    # The caller's tag, echoed back (Atelier sends the job's id).
    state: str = ""
    description: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def order(self) -> float:
        """Where this observation sits in the task's life (see ``_STATUS_ORDER``)."""
        base = _STATUS_ORDER.get(self.status, 0.0)
        if self.status == "IN_PROGRESS" and self.progress.endswith("%"):
            try:
                base += min(99.0, float(self.progress[:-1])) / 100
            except ValueError:
                pass
        return base

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MidjourneyTask | None:
        """A task stored with ``as_dict`` (None for an empty or unreadable one)."""
        if not isinstance(data, dict) or not data.get("id"):
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

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
            if isinstance(b, dict) and b.get("customId")
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
            state=str(data.get("state") or ""),
            description=str(data.get("description") or ""),
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

    def imagine(
        self, *, prompt: str, images: Sequence[InputFile] = (), hook: Hook | None = None
    ) -> SubmitResult:
        payload = {"prompt": prompt, "base64Array": [_data_url(i) for i in images]}
        return self._submit("/mj/submit/imagine", _hooked(payload, hook))

    def blend(
        self, *, images: list[InputFile], dimensions: str = "SQUARE", hook: Hook | None = None
    ) -> SubmitResult:
        payload = {"base64Array": [_data_url(i) for i in images], "dimensions": dimensions}
        return self._submit("/mj/submit/blend", _hooked(payload, hook))

    def describe(self, *, image: InputFile, hook: Hook | None = None) -> SubmitResult:
        return self._submit("/mj/submit/describe", _hooked({"base64": _data_url(image)}, hook))

    def shorten(self, *, prompt: str, hook: Hook | None = None) -> SubmitResult:
        """Prompt analysis: the finished task's description lists shorter prompts."""
        return self._submit("/mj/submit/shorten", _hooked({"prompt": prompt}, hook))

    def swap_face(
        self, *, source: InputFile, target: InputFile, hook: Hook | None = None
    ) -> SubmitResult:
        """InsightFace: the face in ``source`` put onto the person in ``target``."""
        payload = {"sourceBase64": _data_url(source), "targetBase64": _data_url(target)}
        return self._submit("/mj/insight-face/swap", _hooked(payload, hook))

    def action(self, *, task_id: str, custom_id: str, hook: Hook | None = None) -> SubmitResult:
        payload = {"taskId": task_id, "customId": custom_id}
        return self._submit("/mj/submit/action", _hooked(payload, hook))

    def modal(
        self,
        *,
        task_id: str,
        prompt: str,
        mask: InputFile | None = None,
        hook: Hook | None = None,
    ) -> SubmitResult:
        """Confirm a task an action left waiting in a modal (status MODAL, submit code 21);
        Vary (Region) also takes the painted region as ``maskBase64``."""
        payload: dict = {"taskId": task_id, "prompt": prompt}
        if mask is not None:
            payload["maskBase64"] = _data_url(mask)
        return self._submit("/mj/submit/modal", _hooked(payload, hook))

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

    def queue(self) -> list[str] | None:
        """The ids waiting in the proxy's queue, first in line first; None when the proxy
        does not say (``/mj/task/queue`` is gone since midjourney-proxy 10.0.1)."""
        try:
            data = self._request("GET", "/mj/task/queue", timeout=10.0)
        except ProviderError as exc:
            if exc.code in ("endpoint_not_found", "invalid_request", "access_denied"):
                return None
            raise
        if not isinstance(data, list):
            return None
        return [str(item.get("id")) for item in data if isinstance(item, dict) and item.get("id")]

    def image_seed(self, task_id: str) -> str:
        """The seed of a finished task's image. The proxy finds it through the account's
        Midjourney DM channel; without one it answers a failure, raised as ``mj_no_seed``."""
        try:
            data = self._request("GET", f"/mj/task/{task_id}/image-seed", timeout=90.0)
        except ProviderError as exc:
            if exc.code in ("endpoint_not_found", "invalid_request"):
                raise ProviderError("mj_no_seed", detail=exc.detail) from exc
            raise
        if not isinstance(data, dict):
            raise ProviderError("bad_response", detail=str(data)[:300])
        if data.get("code") == 1 and data.get("result") not in (None, ""):
            return str(data["result"])
        raise ProviderError("mj_no_seed", detail=str(data.get("description") or "")[:300])


@dataclass(frozen=True)
class Hook:
    """Where the proxy reports the task (``notifyHook``) and the tag it echoes (``state``)."""

    url: str
    state: str = ""


def _hooked(payload: dict, hook: Hook | None) -> dict:
    if hook is None or not hook.url:
        return payload
    return {**payload, "notifyHook": hook.url, "state": hook.state}


_NUMBER_MARK = re.compile(r"^\s*(?:[1-9]\ufe0f?\u20e3|[1-9][.)])\s*")


def described_prompts(text: str) -> list[str]:
    """The separate prompts in a describe task's answer, without their 1️⃣ 2️⃣ … markers."""
    prompts = []
    for block in re.split(r"\n\s*\n", text or ""):
        prompt = _NUMBER_MARK.sub("", block.strip()).strip()
        if prompt:
            prompts.append(prompt)
    return prompts


def shortened_prompts(text: str) -> list[str]:
    """The prompts a shorten task suggests: the lines after "Shortened prompts" in its
    description, each without its 1️⃣ 2️⃣ … marker (as the proxy reads them back)."""
    start = (text or "").find("Shortened prompts")
    if start < 0:
        return []
    prompts = []
    for line in text[start:].splitlines()[1:]:
        prompt = _NUMBER_MARK.sub("", line.strip().strip("*").strip()).strip()
        if prompt:
            prompts.append(prompt)
    return prompts


def opens_modal(custom_id: str) -> bool:
    return str(custom_id).startswith(MODAL_BUTTON_PREFIXES)


def button_name(button: dict) -> str:
    """A button's words: its label, or for an emoji-only one (reroll, pan arrows) the name
    in its custom id, e.g. ``MJ::JOB::reroll::0::…`` → "Reroll"."""
    if button.get("label"):
        return str(button["label"])
    parts = str(button.get("custom_id") or "").split("::")
    name = parts[2] if len(parts) > 2 and parts[1] == "JOB" else parts[1] if len(parts) > 1 else ""
    return name.replace("_", " ").capitalize()
