"""The search box's syntax, read the way PostgreSQL's ``websearch_to_tsquery`` reads it.

PostgreSQL parses it itself; the embedded SQLite default turns the parsed query into
substring conditions, so both databases understand the same box:
``lighthouse fog`` (both words), ``"quiet harbour"`` (the phrase), ``-night`` (without),
``kite or gull`` (either).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A quoted phrase (closed or running to the end), or a run of anything but spaces and quotes,
# each optionally preceded by "-".
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_EDGES = ",.;:!?()[]{}<>"


@dataclass(frozen=True)
class WebQuery:
    """Every group in ``required`` must match (one of its alternatives); no ``excluded`` may."""

    required: list[tuple[str, ...]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.required or self.excluded)


def websearch_parse(text: str) -> WebQuery:
    tokens: list[tuple[bool, str, bool]] = []  # (negated, text, quoted)
    for match in _TOKEN.finditer(text):
        if match.group(2) is not None:
            negated, value, quoted = match.group(1) == "-", " ".join(match.group(2).split()), True
        else:
            # Punctuation around a bare word ("fog," or "(dusk)") is not part of it.
            negated, value, quoted = match.group(3) == "-", match.group(4).strip(_EDGES), False
        if value.strip("-"):
            tokens.append((negated, value.lower(), quoted))

    required: list[tuple[str, ...]] = []
    excluded: list[str] = []
    joining = False
    for negated, value, quoted in tokens:
        if value == "or" and not quoted and not negated:
            # "or" joins the terms either side; at the start or end it is just ignored.
            joining = bool(required)
            continue
        if negated:
            excluded.append(value)
            joining = False
            continue
        if joining:
            required[-1] = (*required[-1], value)
        else:
            required.append((value,))
        joining = False
    return WebQuery(required=required, excluded=excluded)
