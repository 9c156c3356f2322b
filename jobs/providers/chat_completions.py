"""Image models behind /v1/chat/completions (seed 002: stable-diffusion-api, gpt-4-all).

The images arrive inside a chat reply, in whichever shape the proxy chose: markdown
``![](https://…)`` links, markdown data URLs, ``message.images[]`` or an array of
content parts. Every one is found here; the job logic downloads or decodes each at
once and checks its real type and size like any other provider's image.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
from urllib.parse import urlsplit

from jobs.providers.base import ProviderResult
from jobs.providers.errors import ProviderError
from jobs.providers.openai_images import _client, call_safely
from jobs.registry import ModelSpec

logger = logging.getLogger(__name__)

# ![alt](url "title") — the url may be a data URL with a long base64 body.
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?((?:https?://|data:image/)[^)\s>]+)>?[^)]*\)")
_DATA_URL = re.compile(r"^data:image/[a-z0-9.+-]+;base64,(.+)$", re.IGNORECASE | re.DOTALL)


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
        urls += _MARKDOWN_IMAGE.findall(content)
    elif isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
                urls += _MARKDOWN_IMAGE.findall(part["text"])
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


def link_allowed(url: str, *, provider_base_url: str) -> bool:
    """Whether the worker may download a link found in a reply.

    The reply's words follow the user's prompt, so a link could point the worker at an
    internal service. Links to the provider's own host are fine; others must resolve
    only to public addresses.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.netloc == urlsplit(provider_base_url).netloc:
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_global for a in addresses)


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
                if item["url"] and not link_allowed(
                    item["url"], provider_base_url=connection.base_url
                ):
                    logger.warning("skipping a reply link to a non-public address")
                    continue
                if item not in items:
                    items.append(item)
            if text:
                texts.append(text)
        text = "\n\n".join(texts)
        if not items:
            raise ProviderError("no_images_in_reply", detail=text[:300])
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        return ProviderResult(items=items, usage=usage, text=text)
