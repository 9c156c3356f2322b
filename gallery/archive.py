"""A ZIP of stored images, streamed as it is written: nothing is built in memory."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

from django.core.files.storage import default_storage

from gallery.models import Image

CHUNK_SIZE = 256 * 1024


class _Sink(io.RawIOBase):
    """A write-only, unseekable buffer that is emptied after every chunk.

    Because it cannot seek, zipfile writes sizes in data descriptors after each
    member instead of going back to patch headers.
    """

    def __init__(self):
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def image_archive_name(image: Image) -> str:
    return f"atelier-{image.id}.{image.original_key.rsplit('.', 1)[-1]}"


def image_zip_stream(*, images: Iterable[Image]) -> Iterator[bytes]:
    sink = _Sink()
    # Images are already compressed; storing them saves CPU and loses nothing.
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for image in images:
            with (
                default_storage.open(image.original_key, "rb") as source,
                archive.open(image_archive_name(image), mode="w") as member,
            ):
                while chunk := source.read(CHUNK_SIZE):
                    member.write(chunk)
                    yield sink.drain()
            yield sink.drain()
    yield sink.drain()
