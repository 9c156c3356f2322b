"""The offline demo provider: deterministic abstract pictures drawn from the prompt.

It exists so a newcomer can try Atelier with no API key; the UI says so.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import textwrap

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from jobs.providers.base import ProviderResult


def _palette(rng: random.Random) -> list[tuple[int, int, int]]:
    base_hue = rng.random()
    colours = []
    for step in range(5):
        hue = (base_hue + step * 0.13 + rng.random() * 0.05) % 1.0
        colours.append(_hsv(hue, 0.45 + rng.random() * 0.5, 0.55 + rng.random() * 0.45))
    return colours


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)


def render(prompt: str, *, width: int, height: int, seed: int) -> bytes:
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    rng = random.Random(digest)
    colours = _palette(rng)
    top, bottom = colours[0], colours[1]
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), gradient
    )
    layer = Image.new("RGBA", (width, height))
    draw = ImageDraw.Draw(layer)
    for _ in range(12 + len(prompt.split()) * 2):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(max(4, min(width, height) // 20), max(8, min(width, height) // 3))
        colour = rng.choice(colours[2:]) + (rng.randrange(60, 170),)
        if rng.random() < 0.6:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
        else:
            draw.rectangle((x - radius, y - radius // 2, x + radius, y + radius // 2), fill=colour)
    image.paste(layer.filter(ImageFilter.GaussianBlur(radius=2)), (0, 0), layer)
    caption = ImageDraw.Draw(image)
    font_size = max(12, width // 28)
    font = ImageFont.load_default(size=font_size)
    text = "\n".join(textwrap.wrap(prompt[:160], width=max(12, int(width / (font_size * 0.6)))))
    caption.multiline_text(
        (width // 20, height - height // 4), text, fill=(255, 255, 255), font=font
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


class DemoProvider:
    def generate(
        self, *, connection, spec, prompt, params, user_ref, on_partial=None
    ) -> ProviderResult:
        width, height = (int(side) for side in params.get("size", spec.default_size).split("x"))
        seed = params.get("seed", 0)
        items = [
            {
                "b64_json": base64.b64encode(
                    render(prompt, width=width, height=height, seed=seed + index)
                ).decode(),
                "url": None,
                "revised_prompt": "",
            }
            for index in range(params.get("n", 1))
        ]
        return ProviderResult(items=items, text="Drawn offline by the demo provider.")
