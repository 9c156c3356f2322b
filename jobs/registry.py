"""The model registry: what each image model accepts, as data.

The studio's controls, the server-side validation and the request sent to a
provider all read these specs, so a parameter a model rejects can never be sent.

Families are code (this module and ``jobs.providers``); models are data: rows of
``catalogue.CatalogueModel``, loaded from the shipped ``catalogue/defaults/models.json``
and edited by administrators. ``get_model`` and ``MODELS`` read them as ``ModelSpec``
objects, cached per process and re-read within ``CHECK_SECONDS`` of an edit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

logger = logging.getLogger(__name__)


class Family(StrEnum):
    OPENAI_IMAGES = "openai_images"
    CHAT_COMPLETIONS = "chat_completions"
    MIDJOURNEY = "midjourney"
    DEMO = "demo"


class Lifecycle(StrEnum):
    PREVIEW = "preview"
    AVAILABLE = "available"
    # Announced: still served until its shutdown date, then treated as shut down.
    DEPRECATED = "deprecated"
    SHUT_DOWN = "shut_down"
    # The name this state had before the catalogue; the same member.
    RETIRED = "shut_down"


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
        return gettext(
            "any WIDTHxHEIGHT with both sides divisible by %(multiple)s, "
            "an aspect ratio between 1:3 and 3:1, at most %(long)sx%(short)s"
        ) % {"multiple": self.multiple_of, "long": self.max_long_edge, "short": self.max_short_edge}

    def error_for(self, size: str) -> str | None:
        match = _SIZE_RE.match(size)
        if not match:
            return gettext("Size must look like 1536x1024 (width x height).")
        width, height = int(match[1]), int(match[2])
        if width % self.multiple_of or height % self.multiple_of:
            return gettext("Width and height must both be divisible by %(multiple)s.") % {
                "multiple": self.multiple_of
            }
        if not self.min_ratio <= width / height <= self.max_ratio:
            return gettext("The aspect ratio must be between 1:3 and 3:1.")
        if max(width, height) > self.max_long_edge or min(width, height) > self.max_short_edge:
            return gettext("The largest size is %(long)sx%(short)s.") % {
                "long": self.max_long_edge,
                "short": self.max_short_edge,
            }
        if width * height < self.min_pixels:
            return gettext("The image must have at least %(pixels)s pixels.") % {
                "pixels": f"{self.min_pixels:,}"
            }
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
    # The model to use once this one is shut down (a catalogue name).
    successor: str = ""
    # "openai": the default OpenAI connection offers it while it is available. Names a
    # proxy invented are left empty, so only connections that list them serve them.
    maker: str = ""
    label_zh: str = ""
    description_en: str = ""
    description_zh: str = ""
    # Prices in USD. Per image by quality ("default" when none is asked for), optionally
    # refined by size; per million tokens (text_input, image_input, image_output) when the
    # answer reports usage; per chat reply; per Midjourney task.
    price_per_image_usd: dict[str, float] = field(default_factory=dict)
    price_per_image_by_size_usd: dict[str, dict[str, float]] = field(default_factory=dict)
    token_prices_usd: dict[str, float] = field(default_factory=dict)
    price_per_reply_usd: float | None = None
    price_per_task_usd: float | None = None
    # Chat-completion models: a reply carries one to a few images and is billed per reply;
    # links past this many are ignored (and logged), however many the reply holds.
    max_images_per_reply: int | None = None

    def is_shut_down(self, today: dt.date | None = None) -> bool:
        """Shut down at its maker: so marked, or past its shutdown date."""
        if self.lifecycle is Lifecycle.SHUT_DOWN:
            return True
        today = today or timezone.localdate()
        return self.shutdown_on is not None and self.shutdown_on <= today

    @property
    def display_label(self) -> str:
        """The label in the active language (Chinese when one is given)."""
        if (translation.get_language() or "").startswith("zh") and self.label_zh:
            return self.label_zh
        return self.label

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
            "successor": self.successor,
            "label": self.display_label,
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
        if self.is_shut_down() and not allow_retired:
            errors["model"] = self.lifecycle_note or gettext(
                "%(model)s is no longer available."
            ) % {"model": self.label}
        if kind not in self.kinds:
            errors["model"] = gettext("%(model)s cannot %(verb)s.") % {
                "model": self.label,
                "verb": _KIND_VERBS[kind],
            }
        prompt = (prompt or "").strip()
        if kind in (Kind.VARIATION, Kind.BLEND, Kind.DESCRIBE):
            if prompt:
                errors["prompt"] = gettext("%(model)s takes no prompt to %(verb)s.") % {
                    "model": self.label,
                    "verb": _KIND_VERBS[kind],
                }
        elif not prompt:
            errors["prompt"] = gettext("Write a prompt describing the image.")
        elif len(prompt) > self.prompt_max_chars:
            errors["prompt"] = gettext(
                "%(model)s accepts prompts of at most %(max)s characters; this one has %(count)s."
            ) % {
                "model": self.label,
                "max": f"{self.prompt_max_chars:,}",
                "count": f"{len(prompt):,}",
            }

        allowed_names = KIND_PARAMS[kind]
        for name, value in params.items():
            if value in (None, ""):
                continue
            if name not in KIND_PARAMS[Kind.GENERATE] | KIND_PARAMS[Kind.EDIT]:
                errors[name] = gettext("Atelier does not know the parameter %(name)r.") % {
                    "name": name
                }
            elif name not in allowed_names:
                errors[name] = gettext(
                    "%(model)s does not take a %(param)s when asked to %(verb)s."
                ) % {"model": self.label, "param": _param(name), "verb": _KIND_VERBS[kind]}

        if "size" in allowed_names and (self.sizes or self.size_rule):
            size = params.get("size") or self.default_size
            if size not in self.sizes:
                rule_error = self.size_rule.error_for(size) if self.size_rule else None
                if self.size_rule is None or rule_error:
                    listed = ", ".join(self.sizes)
                    if self.size_rule:
                        listed += gettext(", or %(rule)s") % {"rule": self.size_rule.describe()}
                    errors["size"] = gettext("%(model)s supports these sizes: %(sizes)s.") % {
                        "model": self.label,
                        "sizes": listed,
                    } + (f" {rule_error}" if rule_error else "")
            cleaned["size"] = size
        elif params.get("size") not in (None, "") and "size" not in errors:
            errors["size"] = gettext("%(model)s does not take a size.") % {"model": self.label}

        if "n" in allowed_names:
            n = params.get("n", 1)
            try:
                n = int(n)
            except (TypeError, ValueError):
                n = 0
            if not 1 <= n <= self.n_max:
                errors["n"] = (
                    gettext("%(model)s makes exactly one image per request.")
                    if self.n_max == 1
                    else gettext("%(model)s makes between 1 and %(max)s images per request.")
                ) % {"model": self.label, "max": self.n_max}
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
                    gettext("%(model)s does not take a %(param)s.")
                    if not allowed
                    else gettext("%(model)s accepts %(param)s %(values)s; not %(value)r.")
                ) % {
                    "model": self.label,
                    "param": _param(name),
                    "values": ", ".join(allowed),
                    "value": value,
                }
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
                errors["output_compression"] = gettext(
                    "%(model)s does not take an output compression."
                ) % {"model": self.label}
            elif fmt not in ("webp", "jpeg"):
                errors["output_compression"] = gettext(
                    "Compression applies only to WebP and JPEG output."
                )
            elif not 0 <= compression <= 100:
                errors["output_compression"] = gettext("Compression must be between 0 and 100.")
            else:
                cleaned["output_compression"] = compression
        if cleaned.get("background") == "transparent" and cleaned.get("output_format") == "jpeg":
            errors["background"] = gettext("A transparent background needs PNG or WebP output.")

        partials: Any = params.get("partial_images")
        if partials not in (None, "") and "partial_images" not in errors:
            try:
                partials = int(partials)
            except (TypeError, ValueError):
                partials = -1
            if not self.partial_images:
                errors["partial_images"] = gettext("%(model)s does not stream partial images.") % {
                    "model": self.label
                }
            elif not 0 <= partials <= PARTIAL_IMAGES_MAX:
                errors["partial_images"] = gettext(
                    "Partial images must be between 0 and %(max)s."
                ) % {"max": PARTIAL_IMAGES_MAX}
            else:
                cleaned["partial_images"] = partials

        seed: Any = params.get("seed")
        if seed not in (None, "") and "seed" not in errors:
            if not self.seeds:
                errors["seed"] = gettext("%(model)s does not take a seed.") % {"model": self.label}
            else:
                try:
                    cleaned["seed"] = int(seed)
                except (TypeError, ValueError):
                    errors["seed"] = gettext("The seed must be a whole number.")

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

    def variation_prompt(self, source_prompt: str) -> str:
        """The prompt of a "variation" made as an edit, by a model without the variations
        endpoint: derived from the prompt that made the image."""
        prompt = (
            "A variation of this image: keep its subject, composition and style, and vary "
            "the details."
        )
        if source_prompt.strip():
            prompt += f" The image was made from this prompt: {source_prompt.strip()}"
        return prompt[: self.prompt_max_chars]

    def images_per_reply_limit(self, *, params: dict) -> int:
        """The most images one provider reply may yield for a job with these params."""
        return self.max_images_per_reply or max(1, int(params.get("n") or 1))

    def estimated_cost_usd(self, *, params: dict) -> float | None:
        """The listed price of a request: per task, per reply, or per image (by size and
        quality when the entry says, else by quality)."""
        if self.price_per_task_usd is not None:
            return round(self.price_per_task_usd, 4)
        if self.price_per_reply_usd is not None:
            return round(self.price_per_reply_usd, 4)
        key = params.get("quality") or "default"
        by_size = self.price_per_image_by_size_usd.get(params.get("size") or "", {})
        price = by_size.get(key)
        if price is None:
            price = self.price_per_image_usd.get(key, self.price_per_image_usd.get("default"))
        return None if price is None else round(price * params.get("n", 1), 4)

    def token_cost_usd(self, usage: dict) -> float | None:
        """What an answer's reported ``usage`` costs at the entry's token prices; None when
        the entry has none or the answer reports no token counts."""
        prices = self.token_prices_usd
        if not prices or not isinstance(usage, dict):
            return None
        inputs = usage.get("input_tokens_details")
        outputs = usage.get("output_tokens_details")
        if not isinstance(inputs, dict) or not _is_count(usage.get("output_tokens")):
            return None
        text_in: int = inputs.get("text_tokens")  # type: ignore[assignment]
        image_in: int = inputs.get("image_tokens")  # type: ignore[assignment]
        if not (_is_count(text_in) and _is_count(image_in)):
            return None
        image_out: int = usage["output_tokens"]
        if isinstance(outputs, dict) and _is_count(outputs.get("image_tokens")):
            image_out = outputs["image_tokens"]
        cost = (
            text_in * prices.get("text_input", 0.0)
            + image_in * prices.get("image_input", 0.0)
            + image_out * prices.get("image_output", 0.0)
        ) / 1_000_000
        return round(cost, 6)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_KIND_VERBS = {
    Kind.GENERATE: gettext_lazy("generate images from a prompt"),
    Kind.EDIT: gettext_lazy("edit images"),
    Kind.VARIATION: gettext_lazy("make variations of an image"),
    Kind.BLEND: gettext_lazy("blend images"),
    Kind.DESCRIBE: gettext_lazy("describe an image"),
}
# How an error names a request parameter.
_PARAM_NAMES = {
    "size": gettext_lazy("size"),
    "quality": gettext_lazy("quality"),
    "style": gettext_lazy("style"),
    "background": gettext_lazy("background"),
    "output_format": gettext_lazy("output format"),
    "output_compression": gettext_lazy("output compression"),
    "moderation": gettext_lazy("moderation"),
    "partial_images": gettext_lazy("partial images"),
    "seed": gettext_lazy("seed"),
    "input_fidelity": gettext_lazy("input fidelity"),
}


def _param(name: str) -> str:
    return str(_PARAM_NAMES.get(name) or name.replace("_", " "))


# -- catalogue entries as ModelSpec objects --------------------------------------------

SHIPPED_FILE = Path(__file__).resolve().parent.parent / "catalogue" / "defaults" / "models.json"

# The keys of an entry's ``spec`` JSON: every capability a ModelSpec holds.
_COLUMN_FIELDS = frozenset(
    {
        "name",
        "label",
        "family",
        "lifecycle",
        "shutdown_on",
        "lifecycle_note",
        "successor",
        "label_zh",
        "description_en",
        "description_zh",
        "price_per_image_usd",
        "price_per_image_by_size_usd",
        "token_prices_usd",
        "price_per_reply_usd",
        "price_per_task_usd",
    }
)
SPEC_FIELDS: dict[str, dataclasses.Field] = {
    f.name: f for f in dataclasses.fields(ModelSpec) if f.name not in _COLUMN_FIELDS
}
SIZE_RULE_FIELDS = {f.name: f for f in dataclasses.fields(SizeRule)}
PRICE_KEYS = ("per_image", "per_image_by_size", "per_million_tokens", "per_reply", "per_task")
TOKEN_PRICE_KEYS = ("text_input", "image_input", "image_output")


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _spec_value(name: str, value, errors: dict[str, str]):
    """A capability from JSON, checked against the ModelSpec field's type."""
    kind = str(SPEC_FIELDS[name].type)
    if name == "size_rule":
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - set(SIZE_RULE_FIELDS):
            errors[name] = f"size_rule takes only {', '.join(SIZE_RULE_FIELDS)}."
            return None
        if not all(_number(v) for v in value.values()):
            errors[name] = "size_rule values must be positive numbers."
            return None
        return SizeRule(**value)
    if kind.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            errors[name] = f"{name} must be a list of words."
            return ()
        return tuple(value)
    if kind == "bool":
        if not isinstance(value, bool):
            errors[name] = f"{name} must be true or false."
        return bool(value)
    if kind.startswith("int"):
        if value is None and "None" in kind:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors[name] = f"{name} must be a whole number of at least 0."
            return 0
        return value
    if not isinstance(value, str) and not (value is None and "None" in kind):
        errors[name] = f"{name} must be text."
        return ""
    return value


def _price_fields(price: dict, errors: dict[str, str]) -> dict:
    if not isinstance(price, dict):
        errors["price"] = "The price must be an object."
        return {}
    unknown = set(price) - set(PRICE_KEYS) - {"source"}
    if unknown:
        errors["price"] = f"Unknown price keys: {', '.join(sorted(unknown))}."
    fields: dict[str, Any] = {}
    per_image = price.get("per_image") or {}
    if not isinstance(per_image, dict) or not all(_number(v) for v in per_image.values()):
        errors["price"] = "per_image maps a quality (or default) to a price in USD."
    else:
        fields["price_per_image_usd"] = dict(per_image)
    by_size = price.get("per_image_by_size") or {}
    if not isinstance(by_size, dict) or not all(
        isinstance(q, dict) and all(_number(v) for v in q.values()) for q in by_size.values()
    ):
        errors["price"] = "per_image_by_size maps a size to {quality: price in USD}."
    else:
        fields["price_per_image_by_size_usd"] = {s: dict(q) for s, q in by_size.items()}
    tokens = price.get("per_million_tokens") or {}
    if (
        not isinstance(tokens, dict)
        or set(tokens) - set(TOKEN_PRICE_KEYS)
        or not all(_number(v) for v in tokens.values())
    ):
        errors["price"] = (
            "per_million_tokens takes text_input, image_input and image_output prices in USD."
        )
    else:
        fields["token_prices_usd"] = dict(tokens)
    for key, name in (("per_reply", "price_per_reply_usd"), ("per_task", "price_per_task_usd")):
        value = price.get(key)
        if value is not None and not _number(value):
            errors["price"] = f"{key} must be a price in USD."
        elif value is not None:
            fields[name] = float(value)
    return fields


def spec_from_entry(entry: dict) -> ModelSpec:
    """A ModelSpec from a catalogue entry (a row's values, or one from the shipped file).

    Raises ValidationError naming each bad part, so an administrator's edit that would
    give the studio, the API or the worker a spec it cannot use is refused.
    """
    errors: dict[str, str] = {}
    try:
        family = Family(str(entry.get("family")))
    except ValueError:
        families = ", ".join(f.value for f in Family)
        raise ValidationError({"family": [f"The family must be one of {families}."]}) from None
    caps = entry.get("spec")
    if not isinstance(caps, dict):
        raise ValidationError({"spec": ["The spec must be an object."]})
    unknown = sorted(set(caps) - set(SPEC_FIELDS))
    if unknown:
        errors["spec"] = f"Unknown spec keys: {', '.join(unknown)}."
    if "prompt_max_chars" not in caps:
        errors["spec"] = "The spec needs prompt_max_chars."
    values = {
        name: _spec_value(name, value, errors)
        for name, value in caps.items()
        if name in SPEC_FIELDS
    }
    lifecycle = entry.get("lifecycle") or Lifecycle.AVAILABLE
    try:
        lifecycle = Lifecycle(lifecycle)
    except ValueError:
        errors["lifecycle"] = "The lifecycle must be preview, available, deprecated or shut_down."
        lifecycle = Lifecycle.AVAILABLE
    shutdown_on = entry.get("shutdown_on")
    if isinstance(shutdown_on, str):
        try:
            shutdown_on = dt.date.fromisoformat(shutdown_on) if shutdown_on else None
        except ValueError:
            errors["shutdown_on"] = "The shutdown date must look like 2026-12-01."
            shutdown_on = None
    if lifecycle in (Lifecycle.DEPRECATED, Lifecycle.SHUT_DOWN) and not shutdown_on:
        errors["shutdown_on"] = "A deprecated or shut-down model needs its shutdown date."
    price = _price_fields(entry.get("price") or {}, errors)
    if errors:
        raise ValidationError({key: [message] for key, message in errors.items()})
    spec = ModelSpec(
        name=entry["name"],
        label=entry.get("label_en") or entry["name"],
        family=family,
        lifecycle=lifecycle,
        shutdown_on=shutdown_on,
        lifecycle_note=entry.get("lifecycle_note") or "",
        successor=entry.get("successor") or "",
        label_zh=entry.get("label_zh") or "",
        description_en=entry.get("description_en") or "",
        description_zh=entry.get("description_zh") or "",
        **price,
        **values,
    )
    _spec_check(spec)
    return spec


def _spec_check(spec: ModelSpec) -> None:
    """What the fields say together: defaults among the choices, counts that fit."""
    errors: dict[str, str] = {}
    if spec.prompt_max_chars < 1:
        errors["prompt_max_chars"] = "prompt_max_chars must be at least 1."
    if spec.n_max < 1:
        errors["n_max"] = "n_max must be at least 1."
    if spec.sizes or spec.size_rule:
        if not spec.default_size:
            errors["default_size"] = "default_size must be one of the sizes."
        elif spec.default_size not in spec.sizes and (
            spec.size_rule is None or spec.size_rule.error_for(spec.default_size)
        ):
            errors["default_size"] = f"default_size {spec.default_size!r} is not an offered size."
    if spec.default_quality and spec.default_quality not in spec.qualities:
        errors["default_quality"] = f"default_quality {spec.default_quality!r} is not a quality."
    needs_inputs = spec.edits or spec.blends
    if needs_inputs and spec.max_input_images < 1:
        errors["max_input_images"] = "A model that edits or blends takes at least one image."
    if spec.blends and spec.max_input_images < 2:
        errors["max_input_images"] = "A model that blends takes at least two images."
    if spec.masks and not spec.edits:
        errors["masks"] = "Masks need edits."
    offered = {
        Kind.GENERATE: True,
        Kind.EDIT: spec.edits,
        Kind.VARIATION: spec.variations,
        Kind.BLEND: spec.blends,
        Kind.DESCRIBE: spec.describes,
    }
    paths = _ENDPOINTS[spec.family.value]
    missing = [kind.value for kind, on in offered.items() if on and kind not in paths]
    if missing:
        errors["spec"] = f"The {spec.family.value} family cannot {', '.join(missing)}."
    if errors:
        raise ValidationError({key: [message] for key, message in errors.items()})


def entry_from_spec(spec: ModelSpec) -> dict:
    """The catalogue entry that ``spec_from_entry`` turns back into ``spec``."""
    caps: dict[str, Any] = {}
    for name in SPEC_FIELDS:
        value = getattr(spec, name)
        if isinstance(value, SizeRule):
            value = dataclasses.asdict(value)
        elif isinstance(value, tuple):
            value = list(value)
        caps[name] = value
    price: dict[str, Any] = {"per_image": dict(spec.price_per_image_usd)}
    if spec.price_per_image_by_size_usd:
        price["per_image_by_size"] = spec.price_per_image_by_size_usd
    if spec.token_prices_usd:
        price["per_million_tokens"] = dict(spec.token_prices_usd)
    if spec.price_per_reply_usd is not None:
        price["per_reply"] = spec.price_per_reply_usd
    if spec.price_per_task_usd is not None:
        price["per_task"] = spec.price_per_task_usd
    return {
        "name": spec.name,
        "family": spec.family.value,
        "label_en": spec.label,
        "label_zh": spec.label_zh,
        "description_en": spec.description_en,
        "description_zh": spec.description_zh,
        "lifecycle": spec.lifecycle.value,
        "shutdown_on": spec.shutdown_on.isoformat() if spec.shutdown_on else None,
        "lifecycle_note": spec.lifecycle_note,
        "successor": spec.successor,
        "spec": caps,
        "price": price,
    }


def shipped_entries(path: Path | str | None = None) -> tuple[str, list[dict]]:
    """The shipped file's version and its entries, flattened to row values."""
    data = json.loads(Path(path or SHIPPED_FILE).read_text(encoding="utf-8"))
    entries = []
    for model in data["models"]:
        lifecycle = model.get("lifecycle") or {}
        entries.append(
            {
                "name": model["name"],
                "family": model["family"],
                "copied_from": model.get("copied_from") or "",
                "position": model.get("position", 0),
                "label_en": model.get("label_en") or model["name"],
                "label_zh": model.get("label_zh") or "",
                "description_en": model.get("description_en") or "",
                "description_zh": model.get("description_zh") or "",
                "lifecycle": lifecycle.get("state") or Lifecycle.AVAILABLE.value,
                "shutdown_on": lifecycle.get("shutdown_on"),
                "announced_on": lifecycle.get("announced_on"),
                "successor": lifecycle.get("successor") or "",
                "lifecycle_note": lifecycle.get("note") or "",
                "lifecycle_source": lifecycle.get("source") or "",
                "spec": model.get("spec") or {},
                "price": model.get("price") or {},
            }
        )
    return str(data["version"]), entries


@cache
def shipped_models() -> dict[str, ModelSpec]:
    """The shipped defaults as specs: what an empty or unreadable catalogue serves."""
    _version, entries = shipped_entries()
    ordered = sorted(entries, key=lambda e: e["position"])
    return {entry["name"]: spec_from_entry(entry) for entry in ordered}


# -- the per-process cache ---------------------------------------------------------------

# How stale a process's copy may be: an edit reaches every web and worker process within
# this many seconds, at the price of one small query per process per interval.
CHECK_SECONDS = 2.0


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.models: dict[str, ModelSpec] | None = None
        self.stamp: tuple | None = None
        self.checked_at = 0.0

    def get(self) -> dict[str, ModelSpec]:
        now = time.monotonic()
        if self.models is not None and now - self.checked_at < CHECK_SECONDS:
            return self.models
        with self.lock:
            if self.models is not None and now - self.checked_at < CHECK_SECONDS:
                return self.models
            try:
                self._refresh()
            except (DatabaseError, RuntimeError) as exc:
                # No table before the first migrate, or no database access allowed (a
                # DB-less test, a check at start-up): the shipped file, read again soon.
                logger.info("catalogue unreadable (%s); serving the shipped defaults", exc)
                self.models, self.stamp = shipped_models(), None
            self.checked_at = time.monotonic()
            assert self.models is not None
            return self.models

    def _refresh(self) -> None:
        from catalogue.models import CatalogueModel

        # One query whether or not anything changed, so a page costs the same number of
        # queries however warm this process's copy is.
        rows = list(CatalogueModel.objects.order_by("position", "name"))
        stamp = (len(rows), max((row.updated_at for row in rows), default=None))
        if self.models is not None and stamp == self.stamp:
            return
        if not rows:
            # A fresh database before the data migration, or a test's flushed one.
            self.models, self.stamp = shipped_models(), stamp
            return
        models: dict[str, ModelSpec] = {}
        for row in rows:
            try:
                models[row.name] = spec_from_entry(row.entry())
            except ValidationError as exc:
                # Admin edits are validated; a row broken by hand is left out, loudly.
                logger.error("catalogue model %s is invalid and not offered: %s", row.name, exc)
        self.models, self.stamp = models, stamp

    def expire(self, **_signal) -> None:
        """Check again at the next read (each web request checks once, see CatalogueConfig)."""
        self.checked_at = 0.0

    def clear(self) -> None:
        with self.lock:
            self.models, self.stamp, self.checked_at = None, None, 0.0


_cache = _Cache()


def catalogue_expire(**_signal) -> None:
    """The next read checks the catalogue's stamp (at the start of each web request)."""
    _cache.expire()


def catalogue_changed() -> None:
    """Forget this process's copy (other processes notice within CHECK_SECONDS)."""
    _cache.clear()


def models() -> dict[str, ModelSpec]:
    """Every catalogue model, in catalogue order."""
    return _cache.get()


class _CatalogueView(Mapping[str, ModelSpec]):
    """``MODELS`` as it always was, a mapping of name to spec, now read from the catalogue."""

    def __getitem__(self, name: str) -> ModelSpec:
        return models()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(models())

    def __len__(self) -> int:
        return len(models())

    def __repr__(self) -> str:
        return f"<catalogue models: {', '.join(self)}>"


MODELS: Mapping[str, ModelSpec] = _CatalogueView()


class UnknownModel(LookupError):
    pass


def get_model(name: str) -> ModelSpec:
    found = models().get(name)
    if found is None:
        # Perhaps added a moment ago in another process: look again before refusing.
        _cache.clear()
        found = models().get(name)
    if found is None:
        raise UnknownModel(name)
    return found
