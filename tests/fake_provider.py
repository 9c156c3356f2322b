"""A fake OpenAI-compatible image provider, served over real HTTP.

It behaves like the seed documents: the exact error bodies and codes, b64 or
URL replies, URLs that stop working, 429 with Retry-After, slow replies. The
scenario comes from the prompt (``fake:<name>[:<arg>]``), so a test running a
separate worker process can still choose it. Every request is logged in
``calls`` so tests can count what reached the provider.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import functools
import io
import itertools
import json
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
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
CHAT_IMAGE_MODELS = {"stable-diffusion-api", "gpt-4-all"}
MJ_FINISHED = {"SUCCESS", "FAILURE", "CANCEL"}
# midjourney-proxy's submit answers for the codes Atelier must handle.
MJ_SUBMIT_CODES = {
    3: "关联任务不存在或已失效",
    4: "参数错误",
    9: "系统异常",
    21: "任务已存在",
    22: "排队中，前面还有1个任务",
    23: "队列已满，请稍后尝试",
    24: "可能包含敏感词",
}
SCENARIO_RE = re.compile(r"fake:([a-z0-9_]+)(?::(\S+))?")


@functools.lru_cache(maxsize=64)
def png_bytes(width: int, height: int, *, seed: int = 0, mode: str = "RGB") -> bytes:
    # Cached: drawing and encoding a 1024 px PNG costs ~18 ms of CPU, which a real provider
    # spends on its own machines, not on the cores a bench shares with the workers.
    image = Image.new(mode, (width, height), (40 + seed % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(240, 200, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def mpo_bytes(width: int, height: int) -> bytes:
    """A multi-picture JPEG (MPO), as stereo and some phone cameras write: two frames."""
    left = Image.new("RGB", (width, height), (200, 40, 40))
    right = Image.new("RGB", (width, height), (40, 40, 200))
    buffer = io.BytesIO()
    left.save(buffer, format="MPO", save_all=True, append_images=[right])
    return buffer.getvalue()


def broken_pixels_png(width: int, height: int) -> bytes:
    """A PNG whose chunks are well formed (so its header checks pass) but whose pixel data
    is not a zlib stream: Pillow only finds out when it decodes it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"not zlib data" * 8)
        + chunk(b"IEND", b"")
    )


@dataclass
class Call:
    method: str
    path: str
    body: dict | None
    authorization: str | None
    at: float = field(default_factory=time.time)
    status: int | None = None  # the HTTP status the fake answered with
    answered_at: float | None = None  # when the fake finished sending its answer

    files: dict = field(default_factory=dict)  # multipart or base64 images, as image_info()

    @property
    def prompt(self) -> str:
        body = self.body or {}
        if body.get("prompt"):
            return str(body["prompt"])
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
            content = messages[-1].get("content")
            return content if isinstance(content, str) else json.dumps(content)
        return ""


def image_info(data: bytes) -> dict:
    """What a test wants to know about an uploaded image, mask included."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            alpha = image.getchannel("A") if "A" in image.getbands() else None
            return {
                "format": image.format,
                "size": image.size,
                "mode": image.mode,
                "bytes": len(data),
                "transparent_pixels": alpha.histogram()[0] if alpha else 0,
            }
    except Exception:
        return {"format": None, "size": None, "mode": None, "bytes": len(data)}


def parse_multipart(content_type: str, raw: bytes) -> tuple[dict, dict[str, list[bytes]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict = {}
    files: dict[str, list[bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files.setdefault(name.removesuffix("[]"), []).append(payload)
        else:
            fields[name] = payload.decode()
    return fields, files


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048  # a thousand clients connecting at once are all accepted


class FakeImageProvider:
    """``latency``: (low, high) seconds each image request waits before its answer, drawn
    uniformly (a test may set it after start). ``in_flight`` counts the image requests the
    fake holds at this moment and ``peak_in_flight`` the most it held at once."""

    def __init__(
        self,
        port: int = 0,
        *,
        url_ttl: float = 3600.0,
        latency: tuple[float, float] | None = None,
        seed: int = 0,
    ):
        self.url_ttl = url_ttl
        self.latency = latency
        self._random = random.Random(seed)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.answers = 0  # image requests answered, any status
        self.chat_stream_delay = 0.05  # seconds between a streamed chat reply's progress lines
        self.calls: list[Call] = []
        self.files: dict[str, tuple[bytes, float]] = {}
        self.file_delays: dict[str, float] = {}  # seconds a download of that file stalls
        self._seen: dict[str, int] = {}
        self.mj_tasks: dict[str, dict] = {}
        self._mj_reset()
        # What GET /v1/models lists (None: the models it serves).
        self.listed_models: list[str] | None = None
        # Names a test adds to what it serves (a proxy's own models).
        self.extra_models: set[str] = set()
        self._mj_ids = itertools.count(1_700_000_000_000)
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

        self.server = _Server(("127.0.0.1", port), Handler)
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
            self.mj_tasks.clear()
            self._mj_reset()
            self.listed_models = None
            self.extra_models = set()
            self.latency = None
            self.chat_stream_delay = 0.05
            self.peak_in_flight = self.in_flight
            self.answers = 0

    def _wait_latency(self) -> None:
        if self.latency is not None:
            low, high = self.latency
            with self._lock:
                delay = self._random.uniform(low, high)
            time.sleep(delay)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def file_url(self, data: bytes, *, ttl: float | None = None) -> str:
        token = secrets.token_urlsafe(12).replace("-", "a").replace("_", "b")
        self.files[token] = (data, time.time() + (self.url_ttl if ttl is None else ttl))
        return f"http://127.0.0.1:{self.port}/files/{token}.png"

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
        if call is not None and call.answered_at is None:
            call.answered_at = time.time()

    def _json(self, handler, status: int, payload, headers=None) -> None:
        self._send(handler, status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, handler, name: str, headers=None) -> None:
        status, error = SEED_ERRORS[name]
        self._json(handler, status, {"error": error}, headers)

    def _models(self, handler) -> None:
        """GET /v1/models as OpenAI answers it."""
        if not self._authorized(handler):
            return
        served = sorted(SUPPORTED_MODELS | self.extra_models)
        names = served if self.listed_models is None else self.listed_models
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
        self._json(handler, 200, {"object": "list", "data": data})

    def _handle_get(self, handler) -> None:
        if handler.path.split("?")[0] == "/v1/models":
            self._models(handler)
            return
        if handler.path.startswith("/hostile/"):
            self._hostile(handler)
            return
        if handler.path.startswith("/mj/"):
            self._mj(handler, "GET", None)
            return
        match = re.fullmatch(r"/files/([A-Za-z0-9_-]+)\.png", handler.path.split("?")[0])
        if match and match[1].startswith("missing"):
            body = b"<Error><Code>NoSuchKey</Code><Message>Not Found</Message></Error>"
            self._send(handler, 404, body, "application/xml")
            return
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
        content_type = handler.headers.get("Content-Type") or ""
        uploads: dict[str, list[bytes]] = {}
        if content_type.startswith("multipart/form-data"):
            body, uploads = parse_multipart(content_type, raw)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        call = Call("POST", handler.path, body, handler.headers.get("Authorization"))
        call.files = {name: [image_info(d) for d in datas] for name, datas in uploads.items()}
        handler.call = call
        with self._lock:
            self.calls.append(call)
        if handler.path.startswith("/mj/"):
            self._mj(handler, "POST", body)
            return
        if handler.path == "/v1/chat/completions":
            if self._authorized(handler):
                self._chat(handler, body)
            return
        if handler.path in ("/v1/images/edits", "/v1/images/variations"):
            if self._authorized(handler):
                self._edit_or_variation(handler, body, uploads)
            return
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
        if model not in SUPPORTED_MODELS | self.extra_models:
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

    def _respond(self, handler, body: dict, model: str, *, events: str = "image_generation"):
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            self._wait_latency()
            self._answer(handler, body, model, events=events)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.answers += 1

    def _answer(self, handler, body: dict, model: str, *, events: str) -> None:
        prompt = body.get("prompt") or ""
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
        if scenario == "rate_limit_headers":  # only x-ratelimit-*, no Retry-After
            self._error(
                handler,
                "rate_limit_exceeded",
                {
                    "x-ratelimit-limit-requests": "50",
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": arg or "20s",
                    "x-ratelimit-remaining-tokens": "9000",
                    "x-ratelimit-reset-tokens": "1s",
                },
            )
            return
        if scenario == "url_hostile":  # url_hostile:<kind>, see _hostile
            url = self.hostile_url(arg or "redirect_internal")
            self._json(handler, 200, {"created": int(time.time()), "data": [{"url": url}]})
            return
        if scenario == "url_many":  # more images than the job asked for
            urls = [self.file_url(png_bytes(64, 64, seed=i)) for i in range(int(arg or 5))]
            data = [{"url": url} for url in urls]
            self._json(handler, 200, {"created": int(time.time()), "data": data})
            return
        if scenario == "url_missing":
            url = f"http://127.0.0.1:{self.port}/files/missing{secrets.token_hex(4)}.png"
            self._json(handler, 200, {"created": int(time.time()), "data": [{"url": url}]})
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
        if scenario == "mpo":  # a multi-picture JPEG instead of a PNG
            images = [mpo_bytes(width, height) for _ in range(n)]
        if scenario == "broken_pixels":
            images = [broken_pixels_png(width, height) for _ in range(n)]
        if scenario == "nul_revised":  # text PostgreSQL cannot store (a NUL character)
            revised = "A rendering\u0000 with a NUL in it"
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
        if str(body.get("stream")).lower() == "true":
            self._stream(handler, body, images, events=events, cut=scenario == "stream_cut")
            return
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

    # -- shared checks -------------------------------------------------------------
    def _authorized(self, handler) -> bool:
        auth = handler.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            self._error(handler, "missing_key")
            return False
        if auth[7:] != API_KEY:
            self._error(handler, "invalid_api_key")
            return False
        return True

    def _bad_request(self, handler, message: str, code: str = "invalid_image") -> None:
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        self._json(handler, 400, {"error": error})

    # -- streaming: server-sent events like the Images API's ImageGenStreamEvent -----------
    def _stream(self, handler, body: dict, images: list[bytes], *, events: str, cut: bool):
        handler.call.status = 200
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        size = images[0] and Image.open(io.BytesIO(images[0])).size
        common = {
            "background": body.get("background") or "opaque",
            "output_format": body.get("output_format") or "png",
            "quality": body.get("quality") or "medium",
            "size": f"{size[0]}x{size[1]}",
        }

        def send(event: dict) -> None:
            handler.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
            handler.wfile.flush()

        try:
            for index in range(int(body.get("partial_images") or 0)):
                partial = png_bytes(*size, seed=100 + index)
                send(
                    {
                        "type": f"{events}.partial_image",
                        "b64_json": base64.b64encode(partial).decode(),
                        "partial_image_index": index,
                        "created_at": int(time.time()),
                        **common,
                    }
                )
            if cut:
                return  # the connection drops before the final image
            for image in images:
                send(
                    {
                        "type": f"{events}.completed",
                        "b64_json": base64.b64encode(image).decode(),
                        "created_at": int(time.time()),
                        "usage": {
                            "input_tokens": 50,
                            "output_tokens": 4160,
                            "total_tokens": 4210,
                            "input_tokens_details": {"image_tokens": 0, "text_tokens": 50},
                        },
                        **common,
                    }
                )
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- /v1/images/edits and /v1/images/variations (multipart) ---------------------------
    def _edit_or_variation(self, handler, body: dict, uploads: dict) -> None:
        edit = handler.path.endswith("/edits")
        model = body.get("model") or "dall-e-2"
        if model not in SUPPORTED_MODELS | self.extra_models or model == "dall-e-3":
            self._error(handler, "invalid_model")
            return
        if edit and not body.get("prompt"):
            self._error(handler, "invalid_messages")
            return
        if not edit and model != "dall-e-2":
            self._bad_request(handler, "Variations are only supported for dall-e-2.", "invalid")
            return
        images = [image_info(d) for d in uploads.get("image", [])]
        if not images:
            self._bad_request(handler, "Missing image.", "missing_image")
            return
        first = images[0]
        if model == "dall-e-2":
            if len(images) != 1 or first["format"] != "PNG" or first["bytes"] >= 4 * 1024 * 1024:
                self._bad_request(handler, "Uploaded image must be a PNG and less than 4 MB.")
                return
            if first["size"][0] != first["size"][1]:
                self._bad_request(handler, "Uploaded image must be square.")
                return
            if edit and "mask" not in uploads and not first["transparent_pixels"]:
                self._bad_request(
                    handler,
                    f"Invalid input image - format must be in ['RGBA', 'LA', 'L'], "
                    f"got {first['mode']}.",
                )
                return
        elif any(i["format"] not in ("PNG", "JPEG", "WEBP") for i in images) or len(images) > 16:
            self._bad_request(handler, "Invalid image file or mode for image.")
            return
        if "mask" in uploads:
            mask = image_info(uploads["mask"][0])
            if mask["size"] != first["size"]:
                self._bad_request(
                    handler, "Invalid mask image: mask and image must have the same dimensions."
                )
                return
        if body.get("response_format") and not model.startswith("dall-e"):
            self._bad_request(handler, "Unknown parameter: 'response_format'.", "unknown_parameter")
            return
        self._respond(handler, body, model, events="image_edit")

    # -- /v1/chat/completions: seed 002's image models, every reply shape ---------------
    def _chat(self, handler, body) -> None:
        messages = (body or {}).get("messages")
        prompt = handler.call.prompt
        if not isinstance(messages, list) or not prompt:
            self._error(handler, "invalid_messages")
            return
        model = body.get("model")
        if model not in CHAT_IMAGE_MODELS:
            self._error(handler, "invalid_model")
            return
        match = SCENARIO_RE.search(prompt)
        scenario, arg = (match[1], match[2]) if match else ("markdown_url", None)
        if scenario in SEED_ERRORS:
            headers = {"Retry-After": arg or "1"} if scenario == "rate_limit_exceeded" else {}
            self._error(handler, scenario, headers)
            return
        if scenario == "truncated":
            self._send(handler, 200, b'{"id": "chatcmpl-1", "choices": [{"mess', "application/json")
            return
        if scenario == "html":
            self._send(handler, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        image, second = png_bytes(512, 512, seed=1), png_bytes(768, 512, seed=2)
        data_url = "data:image/png;base64," + base64.b64encode(image).decode()
        message: dict = {"role": "assistant"}
        streamed = scenario.startswith("stream_")  # faults of a stream: markdown_url's reply
        if scenario == "markdown_url" or streamed:
            url = self.file_url(image)
            # gpt-4-all style: the picture, then a download link to the same file.
            message["content"] = f"Here is your picture.\n\n![image]({url})\n\n[Download]({url})"
        elif scenario == "markdown_two":
            message["content"] = (
                f"Two takes:\n![first]({self.file_url(image)})\n![second]({self.file_url(second)})"
            )
        elif scenario == "markdown_data":
            message["content"] = f"![generated]({data_url})"
        elif scenario == "images_field":
            message["content"] = "Done."
            message["images"] = [{"type": "image_url", "image_url": {"url": data_url}}]
        elif scenario == "content_parts":
            message["content"] = [
                {"type": "text", "text": "Here you go."},
                {"type": "image_url", "image_url": {"url": self.file_url(second)}},
            ]
        elif scenario == "not_an_image":
            url = self.file_url(b"<html><body>Login required</body></html>")
            message["content"] = f"![image]({url})"
        elif scenario == "expired_link":
            message["content"] = f"![image]({self.file_url(image, ttl=-1)})"
        elif scenario == "internal_link":  # a prompt that steers the reply at internal hosts
            message["content"] = (
                "![a](http://10.1.2.3/secret.png) ![b](http://169.254.169.254/latest/meta-data)"
            )
        elif scenario == "hostile_link":  # hostile_link:<kind>, see _hostile
            message["content"] = (
                f"Here it is: ![image]({self.hostile_url(arg or 'redirect_internal')})"
            )
        elif scenario == "many_links":  # a prompt that asks for 25 pictures in one reply
            count = int(arg or 25)
            message["content"] = "\n".join(
                f"![take {i}]({self.file_url(png_bytes(64, 64, seed=i))})" for i in range(count)
            )
        elif scenario == "bad_data_url":
            message["content"] = "![x](data:image/png;base64,!!!notbase64!!!)"
        else:  # text_only
            message["content"] = "I am sorry, I cannot draw that."
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
        }
        if body.get("stream") is True and scenario != "stream_ignored":
            self._chat_stream(handler, payload, scenario)
            return
        self._json(handler, 200, payload)

    # Progress lines as these proxies stream them before the image link.
    CHAT_PROGRESS = ("> 排队中…\n\n", "> 生成中 45%\n\n", "> 生成中 100%\n\n")

    def _chat_stream(self, handler, payload: dict, scenario: str) -> None:
        """``stream: true``: the reply as ``chat.completion.chunk`` events, progress lines first
        (``chat_stream_delay`` seconds apart), then the reply's own content, then ``[DONE]``.
        stream_cut drops the connection mid-reply, stream_stall goes silent after the progress,
        stream_error sends an error event, stream_trickle sends progress for a minute;
        stream_ignored answers as if ``stream`` had not been asked for."""
        handler.call.status = 200
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        [choice] = payload["choices"]
        message = choice["message"]
        common = {k: payload[k] for k in ("id", "created", "model")}

        def send(delta: dict, finish_reason=None, **extra) -> None:
            chunk = {
                **common,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **extra,
            }
            handler.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            handler.wfile.flush()

        try:
            send({"role": "assistant", "content": ""})
            lines = self.CHAT_PROGRESS
            if scenario == "stream_trickle":
                lines = tuple(f"> 生成中 {i}%\n\n" for i in range(200))
            for line in lines:
                time.sleep(0.3 if scenario == "stream_trickle" else self.chat_stream_delay)
                # A line in two pieces, as tokens arrive: only a whole line is progress.
                send({"content": line[:4]})
                send({"content": line[4:]})
            if scenario == "stream_stall":
                time.sleep(30)
                return
            if scenario == "stream_error":
                error = {
                    "message": "Your request was rejected by the safety system.",
                    "type": "invalid_request_error",
                    "code": "content_policy_violation",
                }
                handler.wfile.write(f"data: {json.dumps({'error': error})}\n\n".encode())
                return
            content = message.get("content")
            if isinstance(content, str):
                half = len(content) // 2
                send({"content": content[:half]})
                if scenario == "stream_cut":
                    return  # the connection drops before the image link is whole
                send({"content": content[half:]})
            else:
                send({"content": content})
            if message.get("images"):
                send({"images": message["images"]})
            send({}, finish_reason="stop")
            send({}, usage=payload["usage"])
            handler.wfile.write(b"data: [DONE]\n\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- /mj/*: a midjourney-proxy task API --------------------------------------------
    # Shapes follow trueai-org/midjourney-proxy 11.10.3 (see jobs/providers/midjourney.py).
    def _mj_reset(self) -> None:
        """Midjourney knobs, back to a proxy that calls back and answers every endpoint.

        ``mj_callbacks``: "on" POSTs the task to its notifyHook on every change, "off"
        ignores notifyHook, "lost" records each callback in ``mj_callbacks_lost`` and never
        sends it. ``mj_callback_first``: the first callback is sent before the submit is
        answered. ``mj_step_seconds``: tasks move on by themselves every so many seconds
        (polls only read them); None moves a task one step per fetch. ``mj_queue_endpoint``:
        whether GET /mj/task/queue answers (gone since midjourney-proxy 10.0.1).
        ``mj_seed_channel``: whether the account's DM channel is set, so seeds can be read.
        """
        self.mj_callbacks = "on"
        self.mj_callback_first = False
        self.mj_callbacks_sent: list[dict] = []
        self.mj_callbacks_lost: list[dict] = []
        self.mj_step_seconds: float | None = None
        self.mj_queue_endpoint = True
        self.mj_seed_channel = True
        if not getattr(self, "_mj_ticker", None):
            self._mj_ticker = threading.Thread(target=self._mj_tick_forever, daemon=True)
            self._mj_ticker.start()

    def _mj_tick_forever(self) -> None:
        while True:
            time.sleep(0.05)
            step = self.mj_step_seconds
            if step is None:
                continue
            now = time.time()
            for task in list(self.mj_tasks.values()):
                if now >= task.get("_next_at", 0):
                    task["_next_at"] = now + step
                    if self._mj_advance(task):
                        self._mj_changed(task)

    def _mj_changed(self, task: dict) -> None:
        hook = task.get("_hook")
        if not hook or self.mj_callbacks == "off":
            return
        body = self._mj_task_json(task)
        if self.mj_callbacks == "lost":
            self.mj_callbacks_lost.append(body)
            return
        request = urllib.request.Request(
            hook,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        self.mj_callbacks_sent.append({**body, "_answered": status})

    def mj_callback_to(self, task_id: str, hook: str | None = None, **changes) -> int | None:
        """POST a task (with ``changes``) to its notifyHook, or to ``hook``, now: a test's
        late, repeated or forged callback. Returns the HTTP status Atelier answered."""
        body = {**self._mj_task_json(self.mj_tasks[task_id]), **changes}
        request = urllib.request.Request(
            hook or self.mj_tasks[task_id]["_hook"],
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def _mj_task_json(self, task: dict) -> dict:
        return {k: v for k, v in task.items() if not k.startswith("_")}

    def _mj_new_task(self, *, action: str, prompt: str, scenario: str, body=None, **extra):
        task_id = str(next(self._mj_ids))
        body = body or {}
        task = {
            "id": task_id,
            "action": action,
            "prompt": prompt,
            "promptEn": prompt,
            "description": f"/{action.lower()} {prompt}".strip(),
            "state": body.get("state") or "",
            "submitTime": int(time.time() * 1000),
            "status": "SUBMITTED",
            "progress": "0%",
            "imageUrl": None,
            "failReason": None,
            "buttons": [],
            "properties": {},
            "_scenario": scenario,
            "_fetches": 0,
            "_hook": body.get("notifyHook") if self.mj_callbacks != "off" else None,
            "_next_at": time.time() + (self.mj_step_seconds or 0),
            **extra,
        }
        self.mj_tasks[task_id] = task
        return task

    def _mj_queue_wait(self, task: dict) -> int:
        """Steps a task waits in the proxy's queue (fake:mj_queued:<tasks ahead>)."""
        return 4 if task["_scenario"] == "mj_queued" else 0

    def _mj_advance(self, task: dict) -> bool:
        """One step of a task's life; False when it did not change."""
        if task["status"] in MJ_FINISHED or task["status"] == "MODAL":
            return False  # a task in a modal waits for /mj/submit/modal
        task["_fetches"] += 1
        scenario = task["_scenario"]
        if task["_fetches"] <= self._mj_queue_wait(task):
            return False
        waited = self._mj_queue_wait(task)
        if scenario == "mj_slow" or task["_fetches"] == waited + 1:
            changed = (task["status"], task["progress"]) != ("IN_PROGRESS", "40%")
            task["status"], task["progress"] = "IN_PROGRESS", "40%"
            return changed
        if scenario == "mj_hostile":  # the finished task's imageUrl is a hostile link
            task["imageUrl"] = self.hostile_url(task.get("_hostile") or "redirect_internal")
            task["status"], task["progress"] = "SUCCESS", "100%"
            return True
        if scenario == "mj_fail":
            task["status"] = "FAILURE"
            task["failReason"] = "Invalid parameter: Unrecognized parameter(s): `--fast2`"
            return True
        # The status changes last: a poll from another thread never sees SUCCESS half-made.
        job_hash = f"h{task['id'][-6:]}"
        if task["action"] == "DESCRIBE":
            task["imageUrl"] = task["_source_url"]
            task["properties"]["finalPrompt"] = (
                "1️⃣ a lighthouse on a cliff at dusk, oil painting --ar 1:1\n\n"
                "2️⃣ a white tower by the sea, watercolor --ar 1:1"
            )
        elif task["action"] == "SHORTEN":
            words = [w for w in re.split(r"[\s,]+", task["prompt"]) if w and not w.startswith("-")]
            text = (
                "**Important tokens**\n" + " ".join(f"**{w}**" for w in words[:6]) + "\n\n"
                "**Shortened prompts**\n"
                f"1️⃣ {' '.join(words[:5])}\n"
                f"2️⃣ {' '.join(words[:3])}\n"
                f"3️⃣ {' '.join(words[:2])}"
            )
            task["description"] = text
            task["properties"]["finalPrompt"] = text
        elif task["action"] == "SWAP_FACE":
            task["imageUrl"] = self.file_url(png_bytes(512, 512, seed=11))
        elif task["action"] in ("UPSCALE", "ZOOM", "INPAINT", "OUTPAINT"):
            # An upscaled image's buttons: those that open a modal (Custom Zoom, Vary
            # (Region)) are here, as on Discord, not on the grid.
            task["imageUrl"] = self.file_url(png_bytes(512, 512, seed=7))
            task["buttons"] = [
                {
                    "customId": f"MJ::JOB::upsample_v6_2x_subtle::1::{job_hash}::SOLO",
                    "emoji": "",
                    "label": "Upscale (Subtle)",
                    "type": 2,
                    "style": 2,
                },
                {
                    "customId": f"MJ::Inpaint::1::{job_hash}::SOLO",
                    "emoji": "🖌️",
                    "label": "Vary (Region)",
                    "type": 2,
                    "style": 2,
                },
                {
                    "customId": f"MJ::Outpaint::50::1::{job_hash}::SOLO",
                    "emoji": "🔍",
                    "label": "Zoom Out 2x",
                    "type": 2,
                    "style": 2,
                },
                {
                    "customId": f"MJ::CustomZoom::{job_hash}",
                    "emoji": "🔍",
                    "label": "Custom Zoom",
                    "type": 2,
                    "style": 2,
                },
            ]
        else:
            task["imageUrl"] = self.file_url(png_bytes(1024, 1024, seed=3))
            task["buttons"] = (
                [
                    {
                        "customId": f"MJ::JOB::upsample::{i}::{job_hash}",
                        "emoji": "",
                        "label": f"U{i}",
                        "type": 2,
                        "style": 2,
                    }
                    for i in range(1, 5)
                ]
                + [
                    {
                        "customId": f"MJ::JOB::reroll::0::{job_hash}::SOLO",
                        "emoji": "🔄",
                        "label": "",
                        "type": 2,
                        "style": 2,
                    }
                ]
                + [
                    {
                        "customId": f"MJ::JOB::variation::{i}::{job_hash}",
                        "emoji": "",
                        "label": f"V{i}",
                        "type": 2,
                        "style": 2,
                    }
                    for i in range(1, 5)
                ]
            )
        task["status"], task["progress"] = "SUCCESS", "100%"
        return True

    def _mj_queue(self) -> list[dict]:
        """The waiting tasks, first in line first; fake:mj_queued:<n> has n others ahead."""
        waiting = sorted(
            (t for t in self.mj_tasks.values() if t["status"] in ("NOT_START", "SUBMITTED")),
            key=lambda t: t["submitTime"],
        )
        queue: list[dict] = []
        for task in waiting:
            if task["_scenario"] == "mj_queued":
                ahead = int(task.get("_ahead") or 0)
                queue += [
                    {"id": f"other-{task['id']}-{i}", "status": "SUBMITTED"} for i in range(ahead)
                ]
            queue.append(self._mj_task_json(task))
        return queue

    def _mj(self, handler, method: str, body) -> None:
        path = handler.path.split("?")[0]
        secret = handler.headers.get("mj-api-secret") or ""
        auth = handler.headers.get("Authorization") or ""
        if method == "GET":
            task_id = path.split("/")[3] if path.count("/") >= 4 else ""
            prompt = (self.mj_tasks.get(task_id) or {}).get("prompt") or ""
            handler.call = Call("GET", handler.path, {"prompt": prompt}, auth)
            with self._lock:
                self.calls.append(handler.call)
        if API_KEY not in (secret, auth.removeprefix("Bearer ")):
            self._json(handler, 401, {"error": "Unauthorized"})
            return
        body = body if isinstance(body, dict) else {}
        prompt = str(body.get("prompt") or "")
        match = SCENARIO_RE.search(prompt)
        scenario, arg = (match[1], match[2]) if match else ("mj_ok", None)

        fetch = re.fullmatch(r"/mj/task/([0-9]+)/fetch", path)
        cancel = re.fullmatch(r"/mj/task/([0-9]+)/cancel", path)
        seed = re.fullmatch(r"/mj/task/([0-9]+)/image-seed", path)
        if fetch or cancel:
            task = self.mj_tasks.get((fetch or cancel)[1])
            if task is None:
                self._json(handler, 404, {"error": "task not found"})
                return
            changed = True
            if fetch and self.mj_step_seconds is None:
                changed = self._mj_advance(task)
            elif cancel:
                task["status"], task["failReason"] = "CANCEL", "Cancelled by the user"
            elif fetch:
                changed = False
            self._json(handler, 200, self._mj_task_json(task))
            if changed:
                self._mj_changed(task)
            return
        if seed:
            task = self.mj_tasks.get(seed[1])
            if task is None:
                self._json(handler, 404, {"code": 3, "description": MJ_SUBMIT_CODES[3]})
            elif task["status"] != "SUCCESS":
                self._json(handler, 400, {"code": 4, "description": "关联任务状态错误"})
            elif not self.mj_seed_channel:
                self._json(handler, 200, {"code": 9, "description": "请配置私聊频道"})
            else:
                result = str(1_000_000 + int(task["id"]) % 4_000_000)
                self._json(handler, 200, {"code": 1, "description": "成功", "result": result})
            return
        if path == "/mj/task/queue":
            if not self.mj_queue_endpoint:
                self._json(handler, 404, {"error": "Not found"})
            else:
                self._json(handler, 200, self._mj_queue())
            return
        if path == "/mj/task/list-by-condition":
            ids = body.get("ids") or []
            tasks = [self.mj_tasks[i] for i in ids if i in self.mj_tasks]
            changed = []
            if self.mj_step_seconds is None:
                changed = [t for t in tasks if self._mj_advance(t)]
            self._json(handler, 200, [self._mj_task_json(t) for t in tasks])
            for task in changed:
                self._mj_changed(task)
            return
        if not path.startswith(("/mj/submit/", "/mj/insight-face/")):
            self._json(handler, 404, {"error": "Not found"})
            return

        if scenario == "mj_stall":
            time.sleep(float(arg or 2))
        if scenario == "mj_html":
            self._send(handler, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        if scenario == "mj_garbage":
            self._send(handler, 200, b"OK, queued", "text/plain")
            return
        if scenario == "mj_code" and int(arg or 0) not in (1, 21, 22):
            code = int(arg or 9)
            payload = {
                "code": code,
                "description": MJ_SUBMIT_CODES.get(code, "失败"),
                "result": None,
                "properties": {},
            }
            self._json(handler, 200, payload)
            return

        kind = path.removeprefix("/mj/submit/").removeprefix("/mj/")
        images = [
            base64.b64decode(u.split(",", 1)[1])
            for u in (body.get("base64Array") or ([body["base64"]] if body.get("base64") else []))
        ]
        handler.call.files = {"base64Array": [image_info(d) for d in images]}
        if body.get("maskBase64"):
            mask = base64.b64decode(str(body["maskBase64"]).split(",", 1)[1])
            handler.call.files["maskBase64"] = [image_info(mask)]
        code = int(arg) if scenario == "mj_code" and arg else 1
        description = None
        if kind == "imagine":
            if not prompt:
                self._json(
                    handler, 200, {"code": 4, "description": "prompt不能为空", "result": None}
                )
                return
            task = self._mj_new_task(action="IMAGINE", prompt=prompt, scenario=scenario, body=body)
            if scenario == "mj_queued":
                task["_ahead"] = int(arg or 0)
                code, description = 22, f"排队中，前面还有{task['_ahead']}个任务"
        elif kind == "shorten":
            if not prompt:
                self._json(
                    handler, 200, {"code": 4, "description": "prompt不能为空", "result": None}
                )
                return
            task = self._mj_new_task(action="SHORTEN", prompt=prompt, scenario=scenario, body=body)
        elif kind == "insight-face/swap":
            sources = [body.get("sourceBase64"), body.get("targetBase64")]
            if not all(sources):
                self._json(
                    handler, 200, {"code": 4, "description": "人脸图片不能为空", "result": None}
                )
                return
            faces = [base64.b64decode(str(u).split(",", 1)[1]) for u in sources]
            handler.call.files = {"sourceBase64": [image_info(faces[0])]}
            handler.call.files["targetBase64"] = [image_info(faces[1])]
            task = self._mj_new_task(action="SWAP_FACE", prompt="", scenario=scenario, body=body)
        elif kind == "blend":
            if not 2 <= len(images) <= 5:
                self._json(
                    handler, 200, {"code": 4, "description": "base64List参数错误", "result": None}
                )
                return
            task = self._mj_new_task(action="BLEND", prompt="", scenario=scenario, body=body)
        elif kind == "describe":
            if len(images) != 1:
                self._json(
                    handler, 200, {"code": 4, "description": "base64参数错误", "result": None}
                )
                return
            task = self._mj_new_task(
                action="DESCRIBE",
                prompt="",
                scenario=scenario,
                body=body,
                _source_url=self.file_url(images[0]),
            )
        elif kind == "action":
            parent = self.mj_tasks.get(str(body.get("taskId")))
            if parent is None:
                self._json(
                    handler, 200, {"code": 3, "description": MJ_SUBMIT_CODES[3], "result": None}
                )
                return
            custom_ids = {b["customId"] for b in parent["buttons"]}
            if body.get("customId") not in custom_ids:
                self._json(
                    handler, 200, {"code": 4, "description": "customId参数错误", "result": None}
                )
                return
            if body["customId"].startswith(("MJ::CustomZoom::", "MJ::Inpaint::")):
                # midjourney-proxy answers 21 and leaves the task waiting for its modal.
                task = self._mj_new_task(
                    action="ZOOM" if "CustomZoom" in body["customId"] else "INPAINT",
                    prompt=parent["prompt"],
                    scenario=parent["_scenario"],
                    body=body,
                    _parent=parent["id"],
                )
                task["status"], task["progress"] = "MODAL", "0%"
                payload = {"code": 21, "description": "Waiting for window confirm"}
                self._json(handler, 200, {**payload, "result": task["id"], "properties": {}})
                self._mj_changed(task)
                return
            action = body["customId"].split("::")[2]
            task = self._mj_new_task(
                action={"upsample": "UPSCALE", "variation": "VARIATION", "50": "OUTPAINT"}.get(
                    action, "REROLL"
                ),
                prompt=parent["prompt"],
                scenario=parent["_scenario"],
                body=body,
            )
        elif kind == "modal":
            task = self.mj_tasks.get(str(body.get("taskId")))
            if task is None:
                self._json(
                    handler, 200, {"code": 3, "description": MJ_SUBMIT_CODES[3], "result": None}
                )
                return
            if task["status"] != "MODAL":
                self._json(handler, 200, {"code": 4, "description": "任务状态错误", "result": None})
                return
            if task["action"] == "INPAINT":
                # Vary (Region) needs the painted region, the size of the upscaled image.
                parent = self.mj_tasks.get(task.get("_parent") or "") or {}
                sizes = [f["size"] for f in handler.call.files.get("maskBase64", [])]
                if sizes != [(512, 512)] or not parent:
                    self._json(
                        handler, 200, {"code": 4, "description": "mask参数错误", "result": None}
                    )
                    return
            task["status"], task["prompt"] = "SUBMITTED", prompt or task["prompt"]
            task["promptEn"] = task["prompt"]
            if body.get("notifyHook") and self.mj_callbacks != "off":
                task["_hook"] = body["notifyHook"]
        else:
            self._json(handler, 404, {"error": "Not found"})
            return
        if self.mj_callback_first and kind != "modal":
            self._mj_changed(task)  # the proxy's callback overtakes its own answer
        payload = {
            "code": code,
            "description": description or MJ_SUBMIT_CODES.get(code, "提交成功"),
            "result": task["id"],
            "properties": {},
        }
        self._json(handler, 200, payload)
        if kind == "modal":
            self._mj_changed(task)


# -- hostile image links (issue 10): what a provider, or a prompt steering it, can point at --

GZIP_BOMB_INFLATED_BYTES = 200 * 1024 * 1024


def _gzip_stream(chunks) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    return b"".join(packer.compress(chunk) for chunk in chunks) + packer.flush()


_BOMB: list[bytes] = []


def _gzip_bomb() -> bytes:
    """Zeros gzipped twice: a few hundred bytes that inflate to 200 MB. Built a megabyte at
    a time, so that making it does not grow this process."""
    if not _BOMB:
        zeros = b"\0" * (1 << 20)
        once = _gzip_stream(zeros for _ in range(GZIP_BOMB_INFLATED_BYTES >> 20))
        _BOMB.append(_gzip_stream([once]))
    return _BOMB[0]


class InternalService:
    """A service only the worker's own network should reach (think 169.254.169.254), on
    another loopback address than the fake provider, so that allowing the provider's
    127.0.0.1 does not allow it. It counts the requests that reached it."""

    SECRET = b'{"AccessKeyId": "ASIA-internal-secret", "Token": "do-not-store"}'

    def __init__(self, host: str = "127.0.0.2"):
        service = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                service.hits += 1
                body = InternalService.SECRET
                self.send_response(200)
                self.send_header("Content-Type", "image/png")  # lies, as an attacker would
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/latest/meta-data/credentials"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> InternalService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _hostile_url(self, kind: str) -> str:
    return f"http://127.0.0.1:{self.port}/hostile/{kind}"


def _hostile(self, handler) -> None:
    """GET /hostile/<kind>:
    redirect_internal  302 to the internal service (FakeImageProvider.internal_url);
    redirect_chain     302 to redirect_internal (the second hop is the bad one);
    gzip_bomb          a PNG-typed body with Content-Encoding: gzip, gzip;
    drip               a valid PNG header, then one byte every half second;
    html               a login page served as text/html."""
    kind = handler.path.split("?")[0].removeprefix("/hostile/")
    with self._lock:
        self.hostile_hits.append(kind)
    if kind == "redirect_internal":
        self._send(handler, 302, b"", "text/plain", {"Location": self.internal_url})
    elif kind == "redirect_chain":
        self._send(handler, 302, b"", "text/plain", {"Location": "/hostile/redirect_internal"})
    elif kind == "gzip_bomb":
        self._send(handler, 200, _gzip_bomb(), "image/png", {"Content-Encoding": "gzip, gzip"})
    elif kind == "drip":
        body = png_bytes(64, 64)
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(body) + 10_000))
        handler.end_headers()
        try:
            handler.wfile.write(body[:16])
            handler.wfile.flush()
            for _ in range(10_000):
                time.sleep(0.5)
                handler.wfile.write(b"\0")
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
    else:  # html
        self._send(handler, 200, b"<html><body>Sign in</body></html>", "text/html")


FakeImageProvider.hostile_url = _hostile_url  # type: ignore[attr-defined]
FakeImageProvider._hostile = _hostile  # type: ignore[attr-defined]
FakeImageProvider.hostile_hits = []  # type: ignore[attr-defined]
FakeImageProvider.internal_url = "http://127.0.0.2:9/"  # type: ignore[attr-defined]
