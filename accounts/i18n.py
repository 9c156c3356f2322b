"""Text stored in English by a process that had no reader (a notification, a job's note,
an audit line), translated for the person reading it."""

import re
from functools import cache

from django.utils.translation import gettext

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Placeholders that hold our own words (translated too); any other holds what someone typed.
_OUR_WORDS = {"outcome"}


@cache
def _pattern(msgid: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(msgid)
    # split() alternates literal text and placeholder names.
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$", re.DOTALL)


def stored_text(text: str, msgids: list[str]) -> str:
    """The first msgid the English text was made from, translated, its values put back:
    our own words (an outcome) translated too, what people typed left as typed."""
    if not text:
        return text  # gettext("") is the catalogue's header
    for msgid in msgids:
        match = _pattern(msgid).match(text)
        if match:
            values = {
                name: gettext(value) if name in _OUR_WORDS else value
                for name, value in match.groupdict().items()
            }
            return gettext(msgid) % values
    return gettext(text)
