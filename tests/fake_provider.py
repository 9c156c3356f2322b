"""A fake OpenAI-compatible image provider, served over real HTTP.

It behaves like the seed documents: the exact error bodies and codes, b64 or
URL replies, URLs that stop working, 429 with Retry-After, slow replies. The
scenario comes from the prompt (``fake:<name>[:<arg>]``), so a test running a
separate worker process can still choose it. Every request is logged in
``calls`` so tests can count what reached the provider.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

API_KEY = "sk-test-atelier-0123456789"
KEY_HINT = "https://vip.gptchatclub.com/api"

# Seed 000's error bodies, byte for byte in their fields.
SEED_ERRORS = {
    "missing_key": (
        401,
        {
            "message": (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                "or as the password "
                "field (with blank username) if you're accessing the API from your browser and are "
                f"prompted for a username and password. You can obtain an API key from {KEY_HINT}."
            ),
            "type": "talk_api_error",
            "param": None,
            "code": "invalid_api_key",
        },
    ),
    "invalid_api_key": (
        401,
        {
            "message": (
                "Incorrect API key provided: "
                "sk-1afsp*****************************************k5R2. "
                f"You can find your API key at {KEY_HINT}."
            ),
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        },
    ),
    "invalid_model": (
        400,
        {
            "message": "Unsupported model.",
            "type": "talk_api_error",
            "param": None,
            "code": "invalid_model",
        },
    ),
    "insufficient_user_quota": (
        403,
        {
            "message": "User quota is not enough.",
            "type": "talk_api_error",
            "param": None,
            "code": "insufficient_user_quota",
        },
    ),
    "invalid_messages": (
        400,
        {
            "message": "Unsupported messages.",
            "type": "talk_api_error",
            "param": None,
            "code": "invalid_messages",
        },
    ),
    "internal_error": (
        500,
        {
            "message": "Internal server error.",
            "type": "talk_api_error",
            "param": None,
            "code": "internal_error",
        },
    ),
    "content_policy_violation": (
        400,
        {
            "message": "Your request was rejected as a result of our safety system.",
            "type": "invalid_request_error",
            "param": None,
            "code": "content_policy_violation",
        },
    ),
    "moderation_blocked": (
        400,
        {
            "message": "Your request was rejected by the safety system.",
            "type": "image_generation_user_error",
            "param": None,
            "code": "moderation_blocked",
        },
    ),
    "rate_limit_exceeded": (
        429,
        {
            "message": "Rate limit reached for images per minute. Please try again in 1s.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        },
    ),
}
SUPPORTED_MODELS = {"dall-e-2", "dall-e-3", "gpt-image-1.5", "gpt-image-1-mini", "gpt-image-2"}
SCENARIO_RE = re.compile(r"fake:([a-z0-9_]+)(?::(\S+))?")


def png_bytes(width: int, height: int, *, seed: int = 0, mode: str = "RGB") -> bytes:
    image = Image.new(mode, (width, height), (40 + seed % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(240, 200, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Call:
    method: str
    path: str
    body: dict | None
    authorization: str | None
    at: float = field(default_factory=time.time)
    status: int | None = None  # the HTTP status the fake answered with

    @property
    def prompt(self) -> str:
        return (self.body or {}).get("prompt") or ""


class FakeImageProvider:
    def __init__(self, port: int = 0, *, url_ttl: float = 3600.0):
        self.url_ttl = url_ttl
        self.calls: list[Call] = []
        self.files: dict[str, tuple[bytes, float]] = {}
        self.file_delays: dict[str, float] = {}  # seconds a download of that file stalls
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output readable
                pass

            def do_GET(self):
                provider._handle_get(self)

            def do_POST(self):
                provider._handle_post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeImageProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._seen.clear()

    def calls_for(self, marker: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if marker in c.prompt]

    # -- HTTP ----------------------------------------------------------------
    def _send(self, handler, status: int, body: bytes, content_type: str, headers=None) -> None:
        call = getattr(handler, "call", None)
        if call is not None and call.status is None:
            call.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout or a killed worker); so would a real server

    def _json(self, handler, status: int, payload, headers=None) -> None:
        self._send(handler, status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, handler, name: str, headers=None) -> None:
        status, error = SEED_ERRORS[name]
        self._json(handler, status, {"error": error}, headers)

    def _handle_get(self, handler) -> None:
        match = re.fullmatch(r"/files/([A-Za-z0-9_-]+)\.png", handler.path.split("?")[0])
        entry = self.files.get(match[1]) if match else None
        if entry is None or time.time() > entry[1]:
            # What an expired signed storage link answers.
            body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            self._send(handler, 403, body, "application/xml")
            return
        time.sleep(self.file_delays.get(match[1], 0))
        self._send(handler, 200, entry[0], "image/png")

    def _handle_post(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        call = Call("POST", handler.path, body, handler.headers.get("Authorization"))
        handler.call = call
        with self._lock:
            self.calls.append(call)
        if handler.path == "/v1/moderations":  # pre-moderation: fake:flagged, fake:moderation_down
            text = json.dumps((body or {}).get("input"))
            if "fake:moderation_down" in text:
                self._error(handler, "internal_error")
                return
            hit = "fake:flagged" in text
            result = {"flagged": hit, "categories": {"violence": hit}, "category_scores": {}}
            self._json(handler, 200, {"id": "modr-fake", "model": "fake", "results": [result]})
            return
        if handler.path != "/v1/images/generations":
            self._json(handler, 404, {"error": {"message": "Not found", "code": "not_found"}})
            return
        auth = handler.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            self._error(handler, "missing_key")
            return
        if auth[7:] != API_KEY:
            self._error(handler, "invalid_api_key")
            return
        if not isinstance(body, dict) or not body.get("prompt"):
            self._error(handler, "invalid_messages")
            return
        model = body.get("model") or "dall-e-2"
        if model not in SUPPORTED_MODELS:
            self._error(handler, "invalid_model")
            return
        if body.get("response_format") and not model.startswith("dall-e"):
            self._json(
                handler,
                400,
                {
                    "error": {
                        "message": "Unknown parameter: 'response_format'.",
                        "type": "invalid_request_error",
                        "param": "response_format",
                        "code": "unknown_parameter",
                    }
                },
            )
            return
        self._respond(handler, body, model)

    def _respond(self, handler, body: dict, model: str) -> None:
        prompt = body["prompt"]
        match = SCENARIO_RE.search(prompt)
        scenario, arg = (match[1], match[2]) if match else ("b64", None)
        with self._lock:
            seen = self._seen.get(prompt, 0)
            self._seen[prompt] = seen + 1

        if scenario == "slow":
            time.sleep(float(arg or 2))
            scenario = "b64"
        if scenario in SEED_ERRORS:
            headers = {}
            if scenario == "rate_limit_exceeded":
                headers = {
                    "Retry-After": arg or "1",
                    "x-ratelimit-remaining-images": "0",
                    "x-ratelimit-reset-images": f"{arg or 1}s",
                }
            self._error(handler, scenario, headers)
            return
        if scenario == "fail_then_ok":  # fail:<error>,<times>
            name, _, times = (arg or "internal_error,1").partition(",")
            if seen < int(times or 1):
                headers = {"Retry-After": "1"} if name == "rate_limit_exceeded" else {}
                self._error(handler, name, headers)
                return
            scenario = "b64"
        if scenario == "truncated":
            self._send(
                handler, 200, b'{"created": 1589478378, "data": [{"b64_js', "application/json"
            )
            return
        if scenario == "html":
            self._send(handler, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return

        width, height = (
            int(v)
            for v in str(body.get("size") or "1024x1024").replace("auto", "1024x1024").split("x")
        )
        width, height = min(width, 1024), min(height, 1024)
        n = int(body.get("n") or 1)
        images = [png_bytes(width, height, seed=i) for i in range(n)]
        revised = f"A vivid rendering of: {prompt}" if model == "dall-e-3" else None
        if scenario == "bad_b64":
            data = [{"b64_json": "!!!this is not base64!!!"}]
        elif scenario in ("url", "url_expired", "url_slow") or (
            body.get("response_format", "url") == "url" and model.startswith("dall-e")
        ):
            ttl = -1 if scenario == "url_expired" else self.url_ttl
            data = []
            for image in images:
                token = secrets.token_urlsafe(12).replace("-", "a").replace("_", "b")
                self.files[token] = (image, time.time() + ttl)
                if scenario == "url_slow":
                    self.file_delays[token] = float(arg or 3)
                data.append(
                    {
                        "url": f"http://127.0.0.1:{self.port}/files/{token}.png",
                        "revised_prompt": revised,
                    }
                )
        else:
            data = [
                {"b64_json": base64.b64encode(image).decode(), "revised_prompt": revised}
                for image in images
            ]
        payload = {"created": int(time.time()), "data": data}
        if model.startswith("gpt-image"):
            payload["usage"] = {
                "input_tokens": 50,
                "output_tokens": 4160,
                "total_tokens": 4210,
                "input_tokens_details": {"image_tokens": 0, "text_tokens": 50},
            }
            payload["output_format"] = "png"
            payload["size"] = f"{width}x{height}"
        self._json(handler, 200, payload)
