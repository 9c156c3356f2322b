"""The model registry: what each image model accepts, as data.

The studio's controls, the server-side validation and the request sent to a
provider all read these specs, so a parameter a model rejects can never be sent.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError


class Family(StrEnum):
    OPENAI_IMAGES = "openai_images"
    CHAT_COMPLETIONS = "chat_completions"
    MIDJOURNEY = "midjourney"
    DEMO = "demo"


class Lifecycle(StrEnum):
    AVAILABLE = "available"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class Kind(StrEnum):
    """What a request asks for; each kind goes to its own endpoint and takes its own params."""

    GENERATE = "generate"
    EDIT = "edit"
    VARIATION = "variation"
    BLEND = "blend"
    DESCRIBE = "describe"


# Which request parameters each kind of request may carry at all; the model's own
# lists then say which values it takes. A parameter outside this table is refused.
KIND_PARAMS: dict[Kind, frozenset[str]] = {
    Kind.GENERATE: frozenset(
        {
            "size",
            "n",
            "quality",
            "style",
            "background",
            "output_format",
            "output_compression",
            "moderation",
            "partial_images",
            "seed",
        }
    ),
    Kind.EDIT: frozenset(
        {
            "size",
            "n",
            "quality",
            "background",
            "output_format",
            "output_compression",
            "input_fidelity",
            "partial_images",
        }
    ),
    Kind.VARIATION: frozenset({"size", "n"}),
    Kind.BLEND: frozenset(),
    Kind.DESCRIBE: frozenset(),
}
PARTIAL_IMAGES_MAX = 3

_ENDPOINTS = {
    "openai_images": {
        Kind.GENERATE: "/v1/images/generations",
        Kind.EDIT: "/v1/images/edits",
        Kind.VARIATION: "/v1/images/variations",
    },
    "chat_completions": {Kind.GENERATE: "/v1/chat/completions"},
    "midjourney": {
        Kind.GENERATE: "/mj/submit/imagine",
        Kind.BLEND: "/mj/submit/blend",
        Kind.DESCRIBE: "/mj/submit/describe",
    },
    "demo": {Kind.GENERATE: ""},
}


_SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


@dataclass(frozen=True)
class SizeRule:
    """Free-form WIDTHxHEIGHT sizes, as the newest GPT image models take them."""

    multiple_of: int = 16
    min_ratio: float = 1 / 3
    max_ratio: float = 3.0
    max_long_edge: int = 3840
    max_short_edge: int = 2160
    min_pixels: int = 256 * 256

    def describe(self) -> str:
        return (
            f"any WIDTHxHEIGHT with both sides divisible by {self.multiple_of}, "
            "an aspect ratio between 1:3 and 3:1, "
            f"at most {self.max_long_edge}x{self.max_short_edge}"
        )

    def error_for(self, size: str) -> str | None:
        match = _SIZE_RE.match(size)
        if not match:
            return "Size must look like 1536x1024 (width x height)."
        width, height = int(match[1]), int(match[2])
        if width % self.multiple_of or height % self.multiple_of:
            return f"Width and height must both be divisible by {self.multiple_of}."
        if not self.min_ratio <= width / height <= self.max_ratio:
            return "The aspect ratio must be between 1:3 and 3:1."
        if max(width, height) > self.max_long_edge or min(width, height) > self.max_short_edge:
            return f"The largest size is {self.max_long_edge}x{self.max_short_edge}."
        if width * height < self.min_pixels:
            return f"The image must have at least {self.min_pixels:,} pixels."
        return None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    family: Family
    prompt_max_chars: int
    sizes: tuple[str, ...] = ()
    default_size: str = ""
    n_max: int = 1
    size_rule: SizeRule | None = None
    qualities: tuple[str, ...] = ()
    default_quality: str | None = None
    styles: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = ()
    output_compression: bool = False
    moderation_levels: tuple[str, ...] = ()
    takes_response_format: bool = False
    seeds: bool = False
    # Edits and variations: what uploads the provider accepts.
    edits: bool = False
    masks: bool = False
    # Without a mask the image's own transparent pixels say where to edit (DALL·E 2).
    edit_needs_transparency: bool = False
    max_input_images: int = 0
    max_input_bytes: int = 0
    input_formats: tuple[str, ...] = ()
    square_inputs_only: bool = False
    mask_max_bytes: int = 4 * 1024 * 1024
    input_fidelities: tuple[str, ...] = ()
    variations: bool = False
    # Streaming with up to PARTIAL_IMAGES_MAX partial images before the final one.
    partial_images: bool = False
    # Midjourney: blend 2-5 images, describe one image in words.
    blends: bool = False
    describes: bool = False
    lifecycle: Lifecycle = Lifecycle.AVAILABLE
    shutdown_on: dt.date | None = None
    lifecycle_note: str = ""
    price_per_image_usd: dict[str, float] = field(default_factory=dict)
    # Chat-completion models: a reply carries one to a few images and is billed per reply;
    # links past this many are ignored (and logged), however many the reply holds.
    max_images_per_reply: int | None = None

    @property
    def kinds(self) -> tuple[Kind, ...]:
        offered = {
            Kind.GENERATE: True,
            Kind.EDIT: self.edits,
            Kind.VARIATION: self.variations,
            Kind.BLEND: self.blends,
            Kind.DESCRIBE: self.describes,
        }
        return tuple(kind for kind, on in offered.items() if on)

    def input_count(self, kind: Kind) -> tuple[int, int]:
        """How many uploaded images a request of this kind takes: (fewest, most)."""
        return {
            Kind.GENERATE: (0, 0),
            Kind.EDIT: (1, self.max_input_images),
            Kind.VARIATION: (1, 1),
            Kind.BLEND: (2, self.max_input_images),
            Kind.DESCRIBE: (1, 1),
        }[Kind(kind)]

    @property
    def endpoints(self) -> dict[str, str]:
        paths = _ENDPOINTS[self.family.value]
        return {kind.value: paths[kind] for kind in self.kinds}

    def _choices(self) -> dict[str, tuple[str, ...]]:
        return {
            "quality": self.qualities,
            "style": self.styles,
            "background": self.backgrounds,
            "output_format": self.output_formats,
            "moderation": self.moderation_levels,
            "input_fidelity": self.input_fidelities,
        }

    # -- what the studio offers -------------------------------------------------
    def controls(self) -> dict:
        """The parameters the studio shows for this model, with their allowed values."""
        return {
            "family": self.family.value,
            "kinds": [kind.value for kind in self.kinds],
            "input_counts": {
                kind.value: list(self.input_count(kind))
                for kind in self.kinds
                if kind != Kind.GENERATE
            },
            "prompt_max_chars": self.prompt_max_chars,
            "sizes": list(self.sizes),
            "custom_size": self.size_rule.describe() if self.size_rule else None,
            "default_size": self.default_size,
            "n_max": self.n_max,
            "qualities": list(self.qualities),
            "default_quality": self.default_quality,
            "styles": list(self.styles),
            "backgrounds": list(self.backgrounds),
            "output_formats": list(self.output_formats),
            "output_compression": self.output_compression,
            "moderation_levels": list(self.moderation_levels),
            "seed": self.seeds,
            "partial_images_max": PARTIAL_IMAGES_MAX if self.partial_images else 0,
            "edits": self.edits,
            "masks": self.masks,
            "input_fidelities": list(self.input_fidelities),
            "max_input_images": self.max_input_images,
            "max_input_bytes": self.max_input_bytes,
            "input_formats": list(self.input_formats),
            "square_inputs_only": self.square_inputs_only,
            "variations": self.variations,
            "blends": self.blends,
            "describes": self.describes,
            "lifecycle": self.lifecycle.value,
            "shutdown_on": self.shutdown_on.isoformat() if self.shutdown_on else None,
            "lifecycle_note": self.lifecycle_note,
        }

    # -- validation -------------------------------------------------------------
    def clean(
        self,
        *,
        prompt: str,
        params: dict,
        allow_retired: bool = False,
        kind: Kind = Kind.GENERATE,
    ) -> dict:
        """Validate a request for this model; returns the normalised parameters.

        Raises ValidationError keyed by field, with messages a person can act on.
        """
        kind = Kind(kind)
        errors: dict[str, str] = {}
        cleaned: dict = {}
        if self.lifecycle is Lifecycle.RETIRED and not allow_retired:
            errors["model"] = self.lifecycle_note or f"{self.label} is no longer available."
        if kind not in self.kinds:
            errors["model"] = f"{self.label} cannot {_KIND_VERBS[kind]}."
        prompt = (prompt or "").strip()
        if kind in (Kind.VARIATION, Kind.BLEND, Kind.DESCRIBE):
            if prompt:
                errors["prompt"] = f"{self.label} takes no prompt to {_KIND_VERBS[kind]}."
        elif not prompt:
            errors["prompt"] = "Write a prompt describing the image."
        elif len(prompt) > self.prompt_max_chars:
            errors["prompt"] = (
                f"{self.label} accepts prompts of at most {self.prompt_max_chars:,} characters; "
                f"this one has {len(prompt):,}."
            )

        allowed_names = KIND_PARAMS[kind]
        for name, value in params.items():
            if value in (None, ""):
                continue
            if name not in KIND_PARAMS[Kind.GENERATE] | KIND_PARAMS[Kind.EDIT]:
                errors[name] = f"Atelier does not know the parameter {name!r}."
            elif name not in allowed_names:
                errors[name] = (
                    f"{self.label} does not take a {name.replace('_', ' ')} "
                    f"when asked to {_KIND_VERBS[kind]}."
                )

        if "size" in allowed_names and (self.sizes or self.size_rule):
            size = params.get("size") or self.default_size
            if size not in self.sizes:
                rule_error = self.size_rule.error_for(size) if self.size_rule else None
                if self.size_rule is None or rule_error:
                    listed = ", ".join(self.sizes)
                    if self.size_rule:
                        listed += f", or {self.size_rule.describe()}"
                    errors["size"] = f"{self.label} supports these sizes: {listed}." + (
                        f" {rule_error}" if rule_error else ""
                    )
            cleaned["size"] = size
        elif params.get("size") not in (None, "") and "size" not in errors:
            errors["size"] = f"{self.label} does not take a size."

        if "n" in allowed_names:
            n = params.get("n", 1)
            try:
                n = int(n)
            except (TypeError, ValueError):
                n = 0
            if not 1 <= n <= self.n_max:
                errors["n"] = (
                    f"{self.label} makes exactly one image per request."
                    if self.n_max == 1
                    else f"{self.label} makes between 1 and {self.n_max} images per request."
                )
            cleaned["n"] = n

        for name, allowed in self._choices().items():
            value = params.get(name) or None
            if name not in allowed_names or name in errors:
                continue
            if value is None:
                if name == "quality" and self.default_quality:
                    cleaned[name] = self.default_quality
                continue
            if value not in allowed:
                errors[name] = (
                    f"{self.label} does not take a {name.replace('_', ' ')}."
                    if not allowed
                    else f"{self.label} accepts {name.replace('_', ' ')} "
                    + ", ".join(allowed)
                    + f"; not {value!r}."
                )
            else:
                cleaned[name] = value

        # Request values are untyped JSON; int() below sorts out what they really are.
        compression: Any = params.get("output_compression")
        if compression not in (None, "") and "output_compression" not in errors:
            fmt = cleaned.get("output_format")
            try:
                compression = int(compression)
            except (TypeError, ValueError):
                compression = -1
            if not self.output_compression:
                errors["output_compression"] = f"{self.label} does not take an output compression."
            elif fmt not in ("webp", "jpeg"):
                errors["output_compression"] = "Compression applies only to WebP and JPEG output."
            elif not 0 <= compression <= 100:
                errors["output_compression"] = "Compression must be between 0 and 100."
            else:
                cleaned["output_compression"] = compression
        if cleaned.get("background") == "transparent" and cleaned.get("output_format") == "jpeg":
            errors["background"] = "A transparent background needs PNG or WebP output."

        partials: Any = params.get("partial_images")
        if partials not in (None, "") and "partial_images" not in errors:
            try:
                partials = int(partials)
            except (TypeError, ValueError):
                partials = -1
            if not self.partial_images:
                errors["partial_images"] = f"{self.label} does not stream partial images."
            elif not 0 <= partials <= PARTIAL_IMAGES_MAX:
                errors["partial_images"] = (
                    f"Partial images must be between 0 and {PARTIAL_IMAGES_MAX}."
                )
            else:
                cleaned["partial_images"] = partials

        seed: Any = params.get("seed")
        if seed not in (None, "") and "seed" not in errors:
            if not self.seeds:
                errors["seed"] = f"{self.label} does not take a seed."
            else:
                try:
                    cleaned["seed"] = int(seed)
                except (TypeError, ValueError):
                    errors["seed"] = "The seed must be a whole number."

        if errors:
            raise ValidationError({key: [message] for key, message in errors.items()})
        return cleaned

    # -- what is sent -----------------------------------------------------------
    def _request_kwargs(self, *, params: dict, kind: Kind) -> dict:
        # Only names this kind of request carries and this model offers ever get through,
        # so a stored job with stray params still cannot send what the model rejects.
        allowed = KIND_PARAMS[kind]
        kwargs: dict = {"model": self.name}
        if "n" in allowed:
            kwargs["n"] = params.get("n", 1)
        if "size" in allowed and (self.sizes or self.size_rule):
            kwargs["size"] = params.get("size") or self.default_size
        for name, values in self._choices().items():
            if name in allowed and params.get(name) in values:
                kwargs[name] = params[name]
        if "output_compression" in allowed and self.output_compression:
            if params.get("output_compression") is not None:
                kwargs["output_compression"] = params["output_compression"]
        if "partial_images" in allowed and self.partial_images:
            if params.get("partial_images") is not None:
                kwargs["stream"] = True
                kwargs["partial_images"] = params["partial_images"]
        if self.takes_response_format:
            kwargs["response_format"] = "b64_json"
        return kwargs

    def generation_kwargs(self, *, prompt: str, params: dict) -> dict:
        """Keyword arguments for ``client.images.generate``; only what the model takes."""
        return {"prompt": prompt, **self._request_kwargs(params=params, kind=Kind.GENERATE)}

    def edit_kwargs(self, *, prompt: str, params: dict) -> dict:
        """Keyword arguments for ``client.images.edit`` (without the files)."""
        return {"prompt": prompt, **self._request_kwargs(params=params, kind=Kind.EDIT)}

    def variation_kwargs(self, *, params: dict) -> dict:
        """Keyword arguments for ``client.images.create_variation`` (without the file)."""
        return self._request_kwargs(params=params, kind=Kind.VARIATION)

    def images_per_reply_limit(self, *, params: dict) -> int:
        """The most images one provider reply may yield for a job with these params."""
        return self.max_images_per_reply or max(1, int(params.get("n") or 1))

    def estimated_cost_usd(self, *, params: dict) -> float | None:
        key = params.get("quality") or "default"
        price = self.price_per_image_usd.get(key, self.price_per_image_usd.get("default"))
        return None if price is None else round(price * params.get("n", 1), 4)


_KIND_VERBS = {
    Kind.GENERATE: "generate images from a prompt",
    Kind.EDIT: "edit images",
    Kind.VARIATION: "make variations of an image",
    Kind.BLEND: "blend images",
    Kind.DESCRIBE: "describe an image",
}


_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_FORMATS = ("png", "jpeg", "webp")
_GPT_INPUT_FORMATS = ("PNG", "JPEG", "WEBP")
_MB = 1024 * 1024


# Announced by OpenAI on 2 June 2026; proxies that still serve these names list them explicitly.
_SHUT_DOWN_2026_12_01: dict = {
    "lifecycle": Lifecycle.RETIRED,
    "shutdown_on": dt.date(2026, 12, 1),
    "lifecycle_note": (
        "Shut down at OpenAI on 1 December 2026; use GPT Image 2 instead. "
        "Still served by connections that list it."
    ),
}


def _gpt_image(name: str, label: str, **overrides) -> ModelSpec:
    base: dict[str, Any] = dict(
        name=name,
        label=label,
        family=Family.OPENAI_IMAGES,
        prompt_max_chars=32000,
        sizes=_GPT_SIZES,
        default_size="auto",
        n_max=10,
        qualities=("low", "medium", "high", "auto"),
        default_quality=None,
        backgrounds=("transparent", "opaque", "auto"),
        output_formats=_GPT_FORMATS,
        output_compression=True,
        moderation_levels=("low", "auto"),
        edits=True,
        masks=True,
        max_input_images=16,
        max_input_bytes=50 * _MB,
        input_formats=_GPT_INPUT_FORMATS,
        partial_images=True,
        price_per_image_usd={"low": 0.011, "medium": 0.042, "high": 0.167, "default": 0.042},
    )
    base.update(overrides)
    return ModelSpec(**base)


_FLEXIBLE = SizeRule()
_GPT2_5 = dict(
    size_rule=_FLEXIBLE,
    qualities=("low", "medium", "high", "xhigh", "max", "auto"),
    backgrounds=("transparent", "opaque"),
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="demo",
            label="Demo (offline)",
            family=Family.DEMO,
            prompt_max_chars=4000,
            sizes=("256x256", "512x512", "1024x1024", "1024x768", "768x1024"),
            default_size="512x512",
            n_max=4,
            seeds=True,
            lifecycle_note="Draws abstract pictures locally from your prompt; no AI is involved.",
            price_per_image_usd={"default": 0.0},
        ),
        ModelSpec(
            name="dall-e-2",
            label="DALL·E 2",
            family=Family.OPENAI_IMAGES,
            prompt_max_chars=1000,
            sizes=("256x256", "512x512", "1024x1024"),
            default_size="1024x1024",
            n_max=10,
            takes_response_format=True,
            edits=True,
            masks=True,
            edit_needs_transparency=True,
            max_input_images=1,
            max_input_bytes=4 * _MB,
            input_formats=("PNG",),
            square_inputs_only=True,
            variations=True,
            lifecycle=Lifecycle.DEPRECATED,
            shutdown_on=dt.date(2026, 5, 12),
            lifecycle_note="Retired at OpenAI on 12 May 2026; still served by some proxies.",
            price_per_image_usd={"default": 0.02},
        ),
        ModelSpec(
            name="dall-e-3",
            label="DALL·E 3",
            family=Family.OPENAI_IMAGES,
            prompt_max_chars=4000,
            sizes=("1024x1024", "1792x1024", "1024x1792"),
            default_size="1024x1024",
            n_max=1,
            qualities=("standard", "hd"),
            default_quality="standard",
            styles=("vivid", "natural"),
            takes_response_format=True,
            lifecycle=Lifecycle.DEPRECATED,
            shutdown_on=dt.date(2026, 5, 12),
            lifecycle_note="Retired at OpenAI on 12 May 2026; still served by some proxies.",
            price_per_image_usd={"standard": 0.04, "hd": 0.08, "default": 0.04},
        ),
        _gpt_image(
            "gpt-image-1",
            "GPT Image 1",
            input_fidelities=("high", "low"),
            lifecycle=Lifecycle.RETIRED,
            shutdown_on=dt.date(2026, 10, 23),
            lifecycle_note=(
                "GPT Image 1 was shut down on 23 October 2026. "
                "Use GPT Image 2.5 Sunburst or Flare instead."
            ),
        ),
        _gpt_image(
            "gpt-image-1-mini",
            "GPT Image 1 Mini",
            input_fidelities=("low",),
            price_per_image_usd={"low": 0.005, "medium": 0.011, "high": 0.036, "default": 0.011},
            **_SHUT_DOWN_2026_12_01,
        ),
        _gpt_image(
            "gpt-image-1.5",
            "GPT Image 1.5",
            input_fidelities=("high", "low"),
            **_SHUT_DOWN_2026_12_01,
        ),
        _gpt_image("chatgpt-image-latest", "ChatGPT Image (latest)", **_SHUT_DOWN_2026_12_01),
        _gpt_image("gpt-image-2", "GPT Image 2", size_rule=_FLEXIBLE),
        _gpt_image("gpt-image-2-2026-04-21", "GPT Image 2 (2026-04-21)", size_rule=_FLEXIBLE),
        _gpt_image("gpt-image-2.5-sunburst", "GPT Image 2.5 Sunburst", **_GPT2_5),
        _gpt_image(
            "gpt-image-2.5-sunburst-2026-09-08", "GPT Image 2.5 Sunburst (2026-09-08)", **_GPT2_5
        ),
        _gpt_image("gpt-image-2.5-flare", "GPT Image 2.5 Flare", **_GPT2_5),
        _gpt_image("gpt-image-2.5-flare-2026-09-08", "GPT Image 2.5 Flare (2026-09-08)", **_GPT2_5),
        _gpt_image("gpt-image-2.6-sunburst", "GPT Image 2.6 Sunburst", **_GPT2_5),
        _gpt_image("gpt-image-2.6-flare", "GPT Image 2.6 Flare", **_GPT2_5),
        # Seed 002: image models behind /v1/chat/completions; the reply carries the images.
        ModelSpec(
            name="stable-diffusion-api",
            label="Stable Diffusion (chat API)",
            family=Family.CHAT_COMPLETIONS,
            prompt_max_chars=4000,
            price_per_image_usd={"default": 0.02},
            max_images_per_reply=4,
        ),
        ModelSpec(
            name="gpt-4-all",
            label="GPT-4 All (chat API)",
            family=Family.CHAT_COMPLETIONS,
            prompt_max_chars=8000,
            price_per_image_usd={"default": 0.04},
            max_images_per_reply=4,
        ),
        # Seed 002: Midjourney as midjourney-proxy serves it; one job yields one 2x2 grid.
        ModelSpec(
            name="midjourney",
            label="Midjourney",
            family=Family.MIDJOURNEY,
            prompt_max_chars=6000,
            blends=True,
            describes=True,
            max_input_images=5,
            max_input_bytes=10 * _MB,
            input_formats=_GPT_INPUT_FORMATS,
            price_per_image_usd={"default": 0.05},
        ),
    )
}


class UnknownModel(LookupError):
    pass


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModel(name) from None
