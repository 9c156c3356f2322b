"""What a reader sees on a rendered page, and the runs of English words in it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Attributes a person reads or hears (tooltips, placeholders, screen readers, alt text).
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm")
# Code (parameters such as quality=high) and key names are not prose.
_SKIPPED = {"script", "style", "template", "code", "kbd"}

# A word starts with a Latin letter and may hold digits, dots, hyphens and underscores, so
# that model names (gpt-image-2, dall-e-3) and error codes are one word each.
_WORD = r"(?<![\w.=@\-])[A-Za-z][\w.'’\-]*"
# Words joined only by spaces or ASCII punctuation form a run; CJK text between them does not.
_RUN = re.compile(rf"{_WORD}(?:[\s,:;!?()/&\"“”]+{_WORD})+")

# Names and units that stay as they are in Chinese text.
ALLOWED_WORDS = {
    "atelier",
    "midjourney",
    "openai",
    "dall-e-2",
    "dall-e-3",
    "gpt-image-1",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "gpt-image-2",
    "demo",
    "png",
    "jpeg",
    "webp",
    "zip",
    "mb",
    "kb",
    "gb",
    "utc",
    "usd",
    "api",
    "url",
    "json",
    "sha-256",
    "postgresql",
    "sqlite",
    "webhook",
}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self._skipping += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.attributes.append((f"{tag}[{name}]", value))
        # An <input type=submit value=...> is read too.
        if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
            self.attributes.append(("input[value]", dict(attrs).get("value") or ""))

    def handle_endtag(self, tag):
        if tag in _SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:
            self.texts.append(data)


def visible_text(html: str) -> tuple[str, list[tuple[str, str]]]:
    reader = _Reader()
    reader.feed(html)
    return " ".join(reader.texts), reader.attributes


def english_runs(text: str, *, also_allowed: tuple[str, ...] = ()) -> list[str]:
    """Runs of two or more English words, once names, units and ``also_allowed`` phrases
    (what people typed, model labels) are taken out."""
    for phrase in sorted(also_allowed, key=len, reverse=True):
        if phrase:
            text = text.replace(phrase, " · ")
    found = []
    for match in _RUN.finditer(text):
        words = re.findall(_WORD, match.group())
        streak: list[str] = []
        for word in words + [""]:
            if word and word.lower().strip(".'’-") not in ALLOWED_WORDS:
                streak.append(word)
                continue
            if len(streak) >= 2:
                found.append(" ".join(streak))
            streak = []
    return found


def page_english(html: str, *, also_allowed: tuple[str, ...] = ()) -> list[str]:
    text, attributes = visible_text(html)
    problems = [f"text: {run}" for run in english_runs(text, also_allowed=also_allowed)]
    for where, value in attributes:
        problems += [f"{where}: {run}" for run in english_runs(value, also_allowed=also_allowed)]
    return problems
