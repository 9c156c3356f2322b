"""Bad uploads are refused with a clear message, before any pixel is decoded."""

import io
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from gallery.imaging import InvalidImage, inspect_image


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(side: int = 25_000) -> bytes:
    """A valid greyscale PNG of side×side black pixels: under 1 MB on disk, 625 MB decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def encoded(fmt: str, size=(64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if anything decodes pixels."""

    def forbidden(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)


def test_a_decompression_bomb_is_refused_from_its_header(no_decoding):
    bomb = decompression_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    with pytest.raises(InvalidImage, match=r"625,000,000 pixels; the limit is 40,000,000"):
        inspect_image(bomb)


def test_an_svg_is_refused(no_decoding):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'
    with pytest.raises(InvalidImage, match="SVG and HTML files are not accepted"):
        inspect_image(svg)


def test_html_pretending_to_be_an_image_is_refused(no_decoding):
    with pytest.raises(InvalidImage, match="SVG and HTML"):
        inspect_image(b"<!DOCTYPE html><html><body>hi</body></html>")


def test_a_60_mb_file_is_refused_before_it_is_opened(monkeypatch):
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("the file was opened"))
    with pytest.raises(InvalidImage, match=r"The image is 60.0 MB; the limit is 50 MB"):
        inspect_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * (60 * 1024 * 1024 - 8))


def test_a_jpeg_renamed_png_is_refused_where_only_png_is_accepted(no_decoding):
    with pytest.raises(InvalidImage, match=r"This file is a JPEG image .* only PNG is accepted"):
        inspect_image(encoded("JPEG"), allowed_formats=("PNG",))


def test_a_truncated_png_is_refused():
    with pytest.raises(InvalidImage, match="damaged or truncated"):
        inspect_image(encoded("PNG")[:-30])


def test_random_bytes_are_refused(no_decoding):
    with pytest.raises(InvalidImage, match="not a valid image of an accepted type"):
        inspect_image(b"\x00\x01garbage" * 100)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_good_images_pass_without_decoding(no_decoding, fmt):
    info = inspect_image(encoded(fmt, (80, 48)))
    assert (info.format, info.width, info.height) == (fmt, 80, 48)


def test_an_image_over_our_own_pixel_cap_is_refused_from_its_header(no_decoding):
    with pytest.raises(InvalidImage, match=r"8000x8000 pixels; the limit is 40,000,000"):
        inspect_image(decompression_bomb(8000))
