"""Image models behind /v1/chat/completions (seed 002: stable-diffusion-api, gpt-4-all).

The images arrive inside a chat reply, in whichever shape the proxy chose: Markdown images
(inline ``![alt](url "title")``, reference-style ``![alt][ref]``, data URLs), HTML ``<img>``
tags inside the Markdown, links to image files, ``message.images[]`` or an array of content
parts. A reply is free text that follows the user's prompt, so it is parsed as CommonMark
(markdown-it-py) rather than matched with a regular expression: alt text with brackets,
backticks or newlines cannot hide a link. Every link is then downloaded through the one
guarded fetcher (``jobs.providers.fetch``), which decides what addresses may be reached.

A connection that allows it (``Connection.stream``) asks with ``stream: true``: these proxies
stream progress lines ("> 排队中…", "> 生成中 45%") before the image link, and each new one is
told to the run loop as it arrives. The chunks are put back into the reply they spell out,
which is then parsed exactly as a non-streamed one. Either way the body is capped
(``reply_max_bytes``), and once it starts to arrive a cut or a stall is an unknown outcome,
never sent again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx2  # the SDK's own HTTP client (an httpx fork)
import openai
from django.conf import settings
from markdown_it import MarkdownIt

from jobs.providers.base import ProviderResult
from jobs.providers.errors import CATALOG, ProviderError
from jobs.providers.openai_images import _client, call_safely
from jobs.registry import ModelSpec

logger = logging.getLogger(__name__)

_DATA_URL = re.compile(r"^data:image/[a-z0-9.+-]+;base64,(.+)$", re.IGNORECASE | re.DOTALL)
# A plain link (not an image) counts when it points at an image file: "[Download](….png)".
_IMAGE_PATH = re.compile(r"\.(?:png|jpe?g|webp|gif)$", re.IGNORECASE)
# CommonMark only; raw HTML is parsed (never rendered) to find <img src>.
_MARKDOWN = MarkdownIt("commonmark", {"html": True})
# markdown-it percent-encodes links; a data URL's base64 body must stay as the proxy wrote it.
_normalize_link = _MARKDOWN.normalizeLink
_MARKDOWN.normalizeLink = (  # type: ignore[method-assign]
    lambda url: url if url[:5].lower() == "data:" else _normalize_link(url)
)


def _wanted(url: str) -> bool:
    if url[:11].lower() == "data:image/":
        return True
    return urlsplit(url).scheme.lower() in ("http", "https")


class _ImgSources(HTMLParser):
    """The ``src`` of every ``<img>`` in a piece of HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            src = dict(attrs).get("src")
            if src:
                self.sources.append(src.strip())

    handle_startendtag = handle_starttag


def _img_tags(html: str) -> list[str]:
    parser = _ImgSources()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - malformed HTML in a reply is not an error
        logger.info("could not read an HTML fragment in a chat reply")
    return parser.sources


def markdown_image_urls(text: str) -> list[str]:
    """Every image link in a Markdown reply, in order: images, ``<img>`` tags, and links to
    image files (``[Download](https://…/x.png)``)."""
    urls: list[str] = []
    env: dict = {}  # the reply's link references, for reading HTML blocks inline too
    for token in _MARKDOWN.parse(text, env):
        if token.type == "html_block":
            # CommonMark keeps the lines after an HTML tag in its block, up to a blank line;
            # Markdown images may sit there too, so the block is read inline as well.
            for inline in _MARKDOWN.parseInline(token.content, env):
                urls += _inline_urls(inline.children or ())
        urls += _inline_urls(token.children or ())
    return [url for url in urls if url and _wanted(url)]


def _inline_urls(children) -> list[str]:
    urls: list[str] = []
    for child in children:
        if child.type == "image":
            urls.append(str(child.attrGet("src") or ""))
        elif child.type == "link_open":
            href = str(child.attrGet("href") or "")
            if _IMAGE_PATH.search(urlsplit(href).path) or href[:11].lower() == "data:image/":
                urls.append(href)
        elif child.type == "html_inline":
            urls += _img_tags(child.content)
    return urls


def _item_for(url: str) -> dict:
    match = _DATA_URL.match(url)
    if match:
        return {"b64_json": match[1].strip(), "url": None, "revised_prompt": ""}
    return {"b64_json": None, "url": url, "revised_prompt": ""}


def _image_part_url(part) -> str | None:
    """One image entry: {"type": "image_url", "image_url": {"url": …}} or a bare url."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return None
    image_url = part.get("image_url")
    if isinstance(image_url, dict):
        return image_url.get("url")
    if isinstance(image_url, str):
        return image_url
    if part.get("b64_json"):
        return f"data:image/png;base64,{part['b64_json']}"
    return part.get("url")


def images_in_message(message: dict) -> tuple[list[dict], str]:
    """Every image in a chat reply's message, in order and without duplicates, and its text."""
    urls: list[str] = []
    texts: list[str] = []
    content = message.get("content")
    if isinstance(content, str):
        texts.append(content)
        urls += markdown_image_urls(content)
    elif isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
                urls += markdown_image_urls(part["text"])
            elif part.get("type") in ("image_url", "image", "output_image"):
                url = _image_part_url(part)
                if url:
                    urls.append(url)
    for part in message.get("images") or []:
        url = _image_part_url(part)
        if url:
            urls.append(url)
    unique = list(dict.fromkeys(urls))  # first occurrence of each, in order
    return [_item_for(url) for url in unique], "\n".join(t.strip() for t in texts if t.strip())


# -- the reply, whole or streamed ------------------------------------------------------

# Called with the newest line of progress text a streamed reply has spelled out so far
# ("生成中 45%"), each time it changes; the run loop decides how often the card hears it.
ProgressCallback = Callable[[str], None]

# A progress line is short words: longer lines, links and images are the answer itself.
_PROGRESS_LINE_MAX = 200


def reply_max_bytes() -> int:
    """The most a reply may hold, streamed or not: room for the largest image Atelier
    accepts written inline as a data URL (base64 is 4/3 of it), with the reply's words."""
    return 2 * settings.ATELIER_MAX_IMAGE_BYTES


def _too_large(limit: int) -> ProviderError:
    return ProviderError("bad_response", detail=f"The reply was larger than {limit} bytes.")


@contextlib.contextmanager
def _reading():
    """While an answer's body arrives the request has been taken: a cut or a stall from here
    on leaves the outcome unknown (it may be made and billed), so it is never sent again."""
    try:
        yield
    except httpx2.DecodingError as exc:
        raise ProviderError("bad_response", detail=str(exc)[:500]) from exc
    except httpx2.TransportError as exc:  # timeouts, resets, a body cut short
        raise ProviderError("timeout_unknown_outcome", detail=str(exc)[:500]) from exc


def _read_capped(response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    with _reading():
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
    return bytes(body)


def result_from_body(body) -> ProviderResult:
    """The images and words of a chat completion, a whole reply or a streamed one put back
    together: every choice's message, its images in order and without duplicates."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices:
        raise ProviderError("bad_response", detail="The reply held no choices.")
    items: list[dict] = []
    texts: list[str] = []
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        found, text = images_in_message(message)
        for item in found:
            # Whether a link may be fetched is the guarded fetcher's decision, per hop.
            if item not in items:
                items.append(item)
        if text:
            texts.append(text)
    text = "\n\n".join(texts)
    if not items:
        raise ProviderError("no_images_in_reply", detail=text[:300])
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return ProviderResult(items=items, usage=usage, text=text)


def _whole_reply(raw: bytes) -> ProviderResult:
    # Parsed by hand: proxies add fields (message.images) and shapes the SDK types omit.
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ProviderError("bad_response", detail=raw[:300].decode("utf-8", "replace")) from exc
    return result_from_body(body)


def progress_line(line: str) -> str:
    """A line of a reply as progress text for the card ("> 生成中 45%" → "生成中 45%"), or ""
    when it is not one (empty, long, a link or an image)."""
    text = line.strip()
    while text.startswith(">"):  # proxies quote their progress lines
        text = text[1:].lstrip()
    if not text or len(text) > _PROGRESS_LINE_MAX or "://" in text:
        return ""
    if "data:image/" in text.lower() or markdown_image_urls(text):
        return ""
    return text


def sse_data(chunks, *, limit: int, deadline: float):
    """The data of each server-sent event as it completes, from a body's byte chunks;
    at most ``limit`` bytes, and nothing after ``deadline`` (``time.monotonic()``)."""
    buffer = bytearray()
    data: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        if time.monotonic() > deadline:
            raise ProviderError(
                "timeout_unknown_outcome", detail="The streamed reply went on past its deadline."
            )
        buffer += chunk
        if b"\n" not in chunk:
            continue
        *lines, rest = bytes(buffer).split(b"\n")
        buffer = bytearray(rest)
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            # event:, id:, retry: and ": comments" carry nothing a reply needs
    tail = bytes(buffer).rstrip(b"\r").decode("utf-8", "replace")
    if tail.startswith("data:"):
        data.append(tail[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)  # the last event, its blank line missing


def _stream_error(error) -> ProviderError:
    """An error the proxy sent inside the stream: its code if Atelier knows it."""
    error = error if isinstance(error, dict) else {"message": str(error)}
    code = error.get("code") or error.get("type") or ""
    detail = str(error.get("message") or "")[:500]
    return ProviderError(code if code in CATALOG else "bad_response", detail=detail)


class StreamedReply:
    """``chat.completion.chunk`` events put back into the one reply they spell out, with
    the first choice's newest progress line told to ``on_progress`` as it changes."""

    def __init__(self, on_progress: ProgressCallback | None = None):
        self.on_progress = on_progress
        self.texts: dict[int, list[str]] = {}
        self.parts: dict[int, list] = {}
        self.images: dict[int, list] = {}
        self.usage: dict = {}
        self.finished = False  # a finish_reason or [DONE]: the reply is whole
        self._tail = ""  # the first choice's text after its last line break
        self._progress = ""

    def feed(self, data: str) -> None:
        if data.strip() == "[DONE]":
            self.finished = True
            return
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise ProviderError("bad_response", detail=data[:300]) from exc
        if not isinstance(chunk, dict):
            raise ProviderError("bad_response", detail=data[:300])
        if chunk.get("error"):
            raise _stream_error(chunk["error"])
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict):
                self._choice(choice)

    def _choice(self, choice: dict) -> None:
        raw_index = choice.get("index")
        index = raw_index if isinstance(raw_index, int) else 0
        # Some proxies send whole messages in their chunks instead of deltas.
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.texts.setdefault(index, []).append(content)
                if index == 0:
                    self._progress_from(content)
            elif isinstance(content, list):
                self.parts.setdefault(index, []).extend(content)
            if isinstance(delta.get("images"), list):
                self.images.setdefault(index, []).extend(delta["images"])
        if choice.get("finish_reason"):
            self.finished = True

    def _progress_from(self, piece: str) -> None:
        *complete, rest = piece.split("\n")
        if complete:
            lines = [self._tail + complete[0], *complete[1:]]
            self._tail = ""
            newest = next((line for line in reversed(lines) if line.strip()), "")
            if newest:
                text = progress_line(newest)
                if text and text != self._progress:
                    self._progress = text
                    if self.on_progress is not None:
                        self.on_progress(text)
        if len(self._tail) <= _PROGRESS_LINE_MAX:  # a longer line is never progress
            self._tail += rest

    def body(self) -> dict:
        """The reply as a non-streamed one would have been."""
        choices = []
        for index in sorted(set(self.texts) | set(self.parts) | set(self.images)):
            text = "".join(self.texts.get(index, ()))
            content: str | list = text
            if index in self.parts:
                content = [{"type": "text", "text": text}] if text else []
                content += self.parts[index]
            message: dict = {"role": "assistant", "content": content}
            if index in self.images:
                message["images"] = self.images[index]
            choices.append({"index": index, "message": message, "finish_reason": "stop"})
        return {"object": "chat.completion", "choices": choices, "usage": self.usage}


def stream_idle_timeout() -> float:
    return float(min(settings.ATELIER_CHAT_STREAM_IDLE_TIMEOUT, settings.ATELIER_PROVIDER_TIMEOUT))


class ChatCompletionsProvider:
    def generate(
        self,
        *,
        connection,
        spec: ModelSpec,
        prompt,
        params,
        user_ref,
        on_partial=None,
        on_progress: ProgressCallback | None = None,
    ) -> ProviderResult:
        kwargs: dict = dict(
            model=spec.name, messages=[{"role": "user", "content": prompt}], user=user_ref
        )
        limit = reply_max_bytes()
        if connection.stream:
            idle = stream_idle_timeout()
            # The read timeout is the idle timeout: the longest silence between two chunks.
            kwargs.update(stream=True, timeout=openai.Timeout(idle, connect=min(10.0, idle)))
        # One raw read for both: the body is capped, and parsed by hand (proxies add fields
        # the SDK's types omit); the SDK still sends, authenticates and maps HTTP errors.
        call = _client(connection).chat.completions.with_streaming_response.create(**kwargs)
        with contextlib.ExitStack() as stack:
            response = call_safely(lambda: stack.enter_context(call))
            http = response.http_response
            content_type = http.headers.get("content-type", "")
            if not connection.stream or not content_type.startswith("text/event-stream"):
                # Not streamed (off here, or a proxy that ignores ``stream``): one JSON body.
                return _whole_reply(_read_capped(http, limit))
            return _streamed_reply(http, limit=limit, on_progress=on_progress)


def _streamed_reply(http, *, limit: int, on_progress: ProgressCallback | None) -> ProviderResult:
    reply = StreamedReply(on_progress)
    deadline = time.monotonic() + settings.ATELIER_PROVIDER_TIMEOUT
    with _reading():
        for data in sse_data(http.iter_bytes(), limit=limit, deadline=deadline):
            reply.feed(data)
            if data.strip() == "[DONE]":
                break
    if not reply.finished:
        # Cut before the proxy said it was done: what it made (and billed) is unknown.
        raise ProviderError(
            "timeout_unknown_outcome", detail="The streamed reply ended before it was finished."
        )
    return result_from_body(reply.body())
