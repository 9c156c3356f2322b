"""Image models behind /v1/chat/completions (seed 002: stable-diffusion-api, gpt-4-all).

The images arrive inside a chat reply, in whichever shape the proxy chose: Markdown images
(inline ``![alt](url "title")``, reference-style ``![alt][ref]``, data URLs), HTML ``<img>``
tags inside the Markdown, links to image files, ``message.images[]`` or an array of content
parts. A reply is free text that follows the user's prompt, so it is parsed as CommonMark
(markdown-it-py) rather than matched with a regular expression: alt text with brackets,
backticks or newlines cannot hide a link. Every link is then downloaded through the one
guarded fetcher (``jobs.providers.fetch``), which decides what addresses may be reached.
"""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from jobs.providers.base import ProviderResult
from jobs.providers.errors import ProviderError
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


class ChatCompletionsProvider:
    def generate(
        self, *, connection, spec: ModelSpec, prompt, params, user_ref, on_partial=None
    ) -> ProviderResult:
        client = _client(connection)
        raw = call_safely(
            lambda: client.chat.completions.with_raw_response.create(
                model=spec.name,
                messages=[{"role": "user", "content": prompt}],
                user=user_ref,
            )
        )
        # Parsed by hand: proxies add fields (message.images) and shapes the SDK types omit.
        try:
            body = json.loads(raw.http_response.text)
        except ValueError as exc:
            raise ProviderError("bad_response", detail=raw.http_response.text[:300]) from exc
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
