"""Thumbnails: WebP at the configured size, alpha kept, and close to a full Lanczos resize."""

import io

from django.conf import settings
from PIL import Image, ImageChops, ImageStat

from gallery.imaging import make_thumbnail


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _photo_like(width: int, height: int) -> Image.Image:
    gradient = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(gradient, noise, 0.25)


def test_a_thumbnail_is_webp_with_its_longest_side_at_the_configured_size():
    thumbnail = Image.open(io.BytesIO(make_thumbnail(_png(_photo_like(1536, 1024)))))

    assert thumbnail.format == "WEBP"
    assert max(thumbnail.size) == settings.ATELIER_THUMBNAIL_SIZE
    assert thumbnail.size[0] / thumbnail.size[1] == 1.5


def test_transparency_survives():
    image = Image.new("RGBA", (1024, 1024), (200, 30, 30, 0))
    image.paste((20, 200, 20, 255), (0, 0, 512, 1024))

    thumbnail = Image.open(io.BytesIO(make_thumbnail(_png(image))))

    assert thumbnail.mode == "RGBA"
    assert thumbnail.getpixel((thumbnail.width - 5, 5))[3] == 0
    assert thumbnail.getpixel((5, 5))[3] == 255


def test_the_fast_reduce_looks_like_a_full_lanczos_resize():
    source = _photo_like(1024, 1024)
    size = settings.ATELIER_THUMBNAIL_SIZE
    reference = source.resize((size, size), Image.Resampling.LANCZOS)

    thumbnail = Image.open(io.BytesIO(make_thumbnail(_png(source)))).convert("RGB")

    difference = ImageStat.Stat(ImageChops.difference(thumbnail, reference)).mean
    assert max(difference) < 4  # of 255, WebP's loss included (nearest-neighbour: 7.4)
