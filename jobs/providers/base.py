from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from jobs.connections import Connection
from jobs.registry import ModelSpec


@dataclass
class ProviderResult:
    """What a provider answered: one item per image, each with b64_json or url."""

    items: list[dict]
    usage: dict = field(default_factory=dict)
    text: str = ""


class ImageProvider(Protocol):
    def generate(
        self, *, connection: Connection, spec: ModelSpec, prompt: str, params: dict, user_ref: str
    ) -> ProviderResult: ...
