from __future__ import annotations

from collections.abc import Callable
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


@dataclass(frozen=True)
class InputFile:
    name: str
    data: bytes = field(repr=False)
    content_type: str

    def as_upload(self) -> tuple[str, bytes, str]:
        return (self.name, self.data, self.content_type)


@dataclass(frozen=True)
class JobInputs:
    """Images (and a mask) an edit, variation, blend or describe sends, already checked."""

    images: list[InputFile]
    mask: InputFile | None = None


# Called with (partial index, the image's base64 text as received, output format) as a
# streaming provider sends them; decoding is left to the CPU stage.
PartialCallback = Callable[[int, str, str], None]


class ImageProvider(Protocol):
    def generate(
        self,
        *,
        connection: Connection,
        spec: ModelSpec,
        prompt: str,
        params: dict,
        user_ref: str,
        on_partial: PartialCallback | None = None,
    ) -> ProviderResult: ...


class EditingImageProvider(ImageProvider, Protocol):
    """A provider whose models also take edits and variations (the OpenAI Images family)."""

    def edit(
        self,
        *,
        connection: Connection,
        spec: ModelSpec,
        prompt: str,
        params: dict,
        user_ref: str,
        inputs: JobInputs,
        on_partial: PartialCallback | None = None,
    ) -> ProviderResult: ...

    def create_variation(
        self,
        *,
        connection: Connection,
        spec: ModelSpec,
        params: dict,
        user_ref: str,
        inputs: JobInputs,
    ) -> ProviderResult: ...
