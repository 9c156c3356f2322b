"""The model registry is the single source of what each model takes.

The tables below are written from the seed documents and the installed SDK, not
derived from the registry, so a wrong entry in the registry fails here.
"""

from __future__ import annotations

import inspect
import itertools
import typing

import openai
import pytest
from django.core.exceptions import ValidationError
from openai.resources.images import Images
from openai.types import image_model

from jobs.registry import (
    KIND_PARAMS,
    PARTIAL_IMAGES_MAX,
    Family,
    Kind,
    Lifecycle,
    shipped_models,
)

# The shipped catalogue file (what a fresh database loads); tests/catalogue checks that the
# database serves the same entries.
MODELS = shipped_models()
# Named by the SDK, but with none of their parameters documented: left out of the shipped
# file until they are (an administrator adds them from a template).
LEFT_OUT = {"gpt-image-2.6-sunburst", "gpt-image-2.6-flare"}


def get_model(name: str):
    return MODELS[name]


GPT_IMAGE = [n for n, s in MODELS.items() if n.startswith(("gpt-image", "chatgpt-image"))]


def errors_for(model: str, params: dict, *, prompt: str = "a lighthouse", kind=Kind.GENERATE):
    try:
        get_model(model).clean(prompt=prompt, params=params, allow_retired=True, kind=kind)
    except ValidationError as error:
        return error.message_dict
    return {}


def test_it_covers_every_model_the_issue_and_the_sdk_name():
    sdk_models = set(typing.get_args(image_model.ImageModel))
    named = {"demo", "stable-diffusion-api", "gpt-4-all", "midjourney"}
    assert (sdk_models - LEFT_OUT) | named <= set(MODELS)


@pytest.mark.parametrize(
    ("model", "family", "lifecycle"),
    [
        ("demo", Family.DEMO, Lifecycle.AVAILABLE),
        ("dall-e-2", Family.OPENAI_IMAGES, Lifecycle.SHUT_DOWN),
        ("dall-e-3", Family.OPENAI_IMAGES, Lifecycle.SHUT_DOWN),
        ("gpt-image-1", Family.OPENAI_IMAGES, Lifecycle.RETIRED),
        ("gpt-image-1-mini", Family.OPENAI_IMAGES, Lifecycle.RETIRED),
        ("gpt-image-1.5", Family.OPENAI_IMAGES, Lifecycle.RETIRED),
        ("gpt-image-2", Family.OPENAI_IMAGES, Lifecycle.AVAILABLE),
        ("gpt-image-2.5-flare", Family.OPENAI_IMAGES, Lifecycle.AVAILABLE),
        ("stable-diffusion-api", Family.CHAT_COMPLETIONS, Lifecycle.AVAILABLE),
        ("gpt-4-all", Family.CHAT_COMPLETIONS, Lifecycle.AVAILABLE),
        ("midjourney", Family.MIDJOURNEY, Lifecycle.AVAILABLE),
    ],
)
def test_it_knows_each_models_family_and_lifecycle(model, family, lifecycle):
    spec = get_model(model)
    assert (spec.family, spec.lifecycle) == (family, lifecycle)


def test_deprecated_and_retired_models_carry_their_shutdown_date():
    assert str(get_model("dall-e-2").shutdown_on) == "2026-05-12"
    assert str(get_model("dall-e-3").shutdown_on) == "2026-05-12"
    assert str(get_model("gpt-image-1").shutdown_on) == "2026-10-23"
    for spec in MODELS.values():
        if spec.lifecycle is not Lifecycle.AVAILABLE:
            assert spec.shutdown_on and spec.lifecycle_note


def test_a_retired_model_is_refused_unless_a_connection_still_serves_it():
    with pytest.raises(ValidationError) as error:
        get_model("gpt-image-1").clean(prompt="cat", params={})
    assert error.value.message_dict["model"] == [
        "GPT Image 1 was shut down on 23 October 2026. Use GPT Image 2.5 Sunburst or Flare instead."
    ]


# (model, params, field, exact message) — from seed 000/001/002 and the SDK docs.
INVALID = [
    (
        "dall-e-2",
        {"size": "1792x1024"},
        "size",
        "DALL·E 2 supports these sizes: 256x256, 512x512, 1024x1024.",
    ),
    ("dall-e-2", {"n": 11}, "n", "DALL·E 2 makes between 1 and 10 images per request."),
    ("dall-e-2", {"quality": "hd"}, "quality", "DALL·E 2 does not take a quality."),
    ("dall-e-2", {"style": "vivid"}, "style", "DALL·E 2 does not take a style."),
    (
        "dall-e-2",
        {"background": "transparent"},
        "background",
        "DALL·E 2 does not take a background.",
    ),
    (
        "dall-e-2",
        {"output_format": "png"},
        "output_format",
        "DALL·E 2 does not take a output format.",
    ),
    ("dall-e-2", {"moderation": "low"}, "moderation", "DALL·E 2 does not take a moderation."),
    (
        "dall-e-2",
        {"partial_images": 1},
        "partial_images",
        "DALL·E 2 does not stream partial images.",
    ),
    ("dall-e-2", {"seed": 3}, "seed", "DALL·E 2 does not take a seed."),
    (
        "dall-e-3",
        {"size": "512x512"},
        "size",
        "DALL·E 3 supports these sizes: 1024x1024, 1792x1024, 1024x1792.",
    ),
    ("dall-e-3", {"n": 2}, "n", "DALL·E 3 makes exactly one image per request."),
    (
        "dall-e-3",
        {"quality": "high"},
        "quality",
        "DALL·E 3 accepts quality standard, hd; not 'high'.",
    ),
    (
        "dall-e-3",
        {"style": "anime"},
        "style",
        "DALL·E 3 accepts style vivid, natural; not 'anime'.",
    ),
    (
        "dall-e-3",
        {"output_compression": 50},
        "output_compression",
        "DALL·E 3 does not take an output compression.",
    ),
    (
        "gpt-image-1.5",
        {"size": "1792x1024"},
        "size",
        "GPT Image 1.5 supports these sizes: 1024x1024, 1536x1024, 1024x1536, auto.",
    ),
    (
        "gpt-image-1.5",
        {"quality": "hd"},
        "quality",
        "GPT Image 1.5 accepts quality low, medium, high, auto; not 'hd'.",
    ),
    (
        "gpt-image-1.5",
        {"quality": "max"},
        "quality",
        "GPT Image 1.5 accepts quality low, medium, high, auto; not 'max'.",
    ),
    ("gpt-image-1.5", {"style": "vivid"}, "style", "GPT Image 1.5 does not take a style."),
    ("gpt-image-1.5", {"n": 0}, "n", "GPT Image 1.5 makes between 1 and 10 images per request."),
    (
        "gpt-image-1.5",
        {"output_format": "gif"},
        "output_format",
        "GPT Image 1.5 accepts output format png, jpeg, webp; not 'gif'.",
    ),
    (
        "gpt-image-1.5",
        {"output_format": "png", "output_compression": 50},
        "output_compression",
        "Compression applies only to WebP and JPEG output.",
    ),
    (
        "gpt-image-1.5",
        {"output_format": "webp", "output_compression": 101},
        "output_compression",
        "Compression must be between 0 and 100.",
    ),
    (
        "gpt-image-1.5",
        {"background": "transparent", "output_format": "jpeg"},
        "background",
        "A transparent background needs PNG or WebP output.",
    ),
    (
        "gpt-image-1.5",
        {"moderation": "high"},
        "moderation",
        "GPT Image 1.5 accepts moderation low, auto; not 'high'.",
    ),
    (
        "gpt-image-1.5",
        {"partial_images": 4},
        "partial_images",
        "Partial images must be between 0 and 3.",
    ),
    (
        "gpt-image-1.5",
        {"input_fidelity": "high"},
        "input_fidelity",
        "GPT Image 1.5 does not take a input fidelity when asked to generate images from a prompt.",
    ),
    (
        "gpt-image-1.5",
        {"response_format": "url"},
        "response_format",
        "Atelier does not know the parameter 'response_format'.",
    ),
    (
        "gpt-image-1-mini",
        {"quality": "xhigh"},
        "quality",
        "GPT Image 1 Mini accepts quality low, medium, high, auto; not 'xhigh'.",
    ),
    (
        "gpt-image-2",
        {"size": "1000x1000"},
        "size",
        "GPT Image 2 supports these sizes: 1024x1024, 1536x1024, 1024x1536, auto, or any "
        "WIDTHxHEIGHT with both sides divisible by 16, an aspect ratio between 1:3 and 3:1, "
        "at most 3840x2160. Width and height must both be divisible by 16.",
    ),
    (
        "gpt-image-2",
        {"size": "4000x1024"},
        "size",
        "GPT Image 2 supports these sizes: 1024x1024, 1536x1024, 1024x1536, auto, or any "
        "WIDTHxHEIGHT with both sides divisible by 16, an aspect ratio between 1:3 and 3:1, "
        "at most 3840x2160. The aspect ratio must be between 1:3 and 3:1.",
    ),
    (
        "gpt-image-2.5-flare",
        {"background": "auto"},
        "background",
        "GPT Image 2.5 Flare accepts background transparent, opaque; not 'auto'.",
    ),
    (
        "gpt-image-2.5-sunburst",
        {"size": "3856x2160"},
        "size",
        "GPT Image 2.5 Sunburst supports these sizes: 1024x1024, 1536x1024, 1024x1536, auto, or "
        "any WIDTHxHEIGHT with both sides divisible by 16, an aspect ratio between 1:3 and 3:1, "
        "at most 3840x2160. The largest size is 3840x2160.",
    ),
    (
        "stable-diffusion-api",
        {"size": "1024x1024"},
        "size",
        "Stable Diffusion (chat API) does not take a size.",
    ),
    (
        "stable-diffusion-api",
        {"n": 2},
        "n",
        "Stable Diffusion (chat API) makes exactly one image per request.",
    ),
    ("gpt-4-all", {"quality": "hd"}, "quality", "GPT-4 All (chat API) does not take a quality."),
    ("midjourney", {"style": "raw"}, "style", "Midjourney does not take a style."),
    ("midjourney", {"n": 4}, "n", "Midjourney makes exactly one image per request."),
    (
        "demo",
        {"size": "2048x2048"},
        "size",
        "Demo (offline) supports these sizes: 256x256, 512x512, 1024x1024, 1024x768, 768x1024.",
    ),
    ("demo", {"seed": "x"}, "seed", "The seed must be a whole number."),
    ("demo", {"n": 5}, "n", "Demo (offline) makes between 1 and 4 images per request."),
]


@pytest.mark.parametrize(("model", "params", "field", "message"), INVALID)
def test_it_refuses_what_a_model_does_not_take(model, params, field, message):
    assert errors_for(model, params)[field] == [message]


VALID = [
    ("dall-e-2", {"size": "256x256", "n": 10}),
    ("dall-e-3", {"size": "1792x1024", "quality": "hd", "style": "natural"}),
    (
        "gpt-image-1.5",
        {
            "size": "1536x1024",
            "quality": "high",
            "background": "transparent",
            "output_format": "webp",
            "output_compression": 80,
            "moderation": "low",
            "partial_images": 2,
        },
    ),
    ("gpt-image-1-mini", {"size": "auto", "n": 10, "partial_images": 0}),
    ("gpt-image-2", {"size": "1536x864"}),
    ("gpt-image-2.5-sunburst", {"size": "3840x2160", "quality": "max"}),
    ("stable-diffusion-api", {}),
    ("gpt-4-all", {"n": 1}),
    ("midjourney", {}),
    ("demo", {"size": "768x1024", "n": 4, "seed": 7}),
]


@pytest.mark.parametrize(("model", "params"), VALID)
def test_it_accepts_what_a_model_takes(model, params):
    assert errors_for(model, params) == {}


@pytest.mark.parametrize(
    ("model", "prompt_limit"),
    [
        ("dall-e-2", 1000),
        ("dall-e-3", 4000),
        ("gpt-image-1.5", 32000),
        ("gpt-image-2.5-flare", 32000),
        ("stable-diffusion-api", 4000),
        ("midjourney", 6000),
    ],
)
def test_it_limits_each_models_prompt(model, prompt_limit):
    assert errors_for(model, {}, prompt="x" * prompt_limit) == {}
    label = get_model(model).label
    assert errors_for(model, {}, prompt="x" * (prompt_limit + 1))["prompt"] == [
        f"{label} accepts prompts of at most {prompt_limit:,} characters; "
        f"this one has {prompt_limit + 1:,}."
    ]


@pytest.mark.parametrize(
    ("model", "kind", "message"),
    [
        ("dall-e-3", Kind.EDIT, "DALL·E 3 cannot edit images."),
        ("dall-e-3", Kind.VARIATION, "DALL·E 3 cannot make variations of an image."),
        ("gpt-image-1.5", Kind.VARIATION, "GPT Image 1.5 cannot make variations of an image."),
        ("stable-diffusion-api", Kind.EDIT, "Stable Diffusion (chat API) cannot edit images."),
        ("demo", Kind.EDIT, "Demo (offline) cannot edit images."),
        ("gpt-image-2", Kind.BLEND, "GPT Image 2 cannot blend images."),
    ],
)
def test_it_refuses_a_kind_of_request_the_model_does_not_serve(model, kind, message):
    prompt = "" if kind in (Kind.VARIATION, Kind.BLEND) else "a lighthouse"
    assert errors_for(model, {}, prompt=prompt, kind=kind)["model"] == [message]


@pytest.mark.parametrize(
    ("model", "params", "field", "message"),
    [
        (
            "gpt-image-1.5",
            {"input_fidelity": "medium"},
            "input_fidelity",
            "GPT Image 1.5 accepts input fidelity high, low; not 'medium'.",
        ),
        (
            "gpt-image-1-mini",
            {"input_fidelity": "high"},
            "input_fidelity",
            "GPT Image 1 Mini accepts input fidelity low; not 'high'.",
        ),
        (
            "gpt-image-2",
            {"input_fidelity": "low"},
            "input_fidelity",
            "GPT Image 2 does not take a input fidelity.",
        ),
        (
            "gpt-image-1.5",
            {"moderation": "low"},
            "moderation",
            "GPT Image 1.5 does not take a moderation when asked to edit images.",
        ),
        (
            "dall-e-2",
            {"size": "1536x1024"},
            "size",
            "DALL·E 2 supports these sizes: 256x256, 512x512, 1024x1024.",
        ),
    ],
)
def test_edits_have_their_own_parameters(model, params, field, message):
    assert errors_for(model, params, kind=Kind.EDIT)[field] == [message]


def test_variations_take_no_prompt_and_only_size_and_n():
    assert errors_for("dall-e-2", {"size": "512x512", "n": 3}, prompt="", kind=Kind.VARIATION) == {}
    errors = errors_for("dall-e-2", {"quality": "hd"}, prompt="a cat", kind=Kind.VARIATION)
    assert errors["prompt"] == ["DALL·E 2 takes no prompt to make variations of an image."]
    assert errors["quality"] == [
        "DALL·E 2 does not take a quality when asked to make variations of an image."
    ]


# -- the studio's controls cannot drift from validation -------------------------------

CHOICE_CONTROLS = {
    "quality": "qualities",
    "style": "styles",
    "background": "backgrounds",
    "output_format": "output_formats",
    "moderation": "moderation_levels",
    "input_fidelity": "input_fidelities",
}
# Every value any control anywhere offers, plus values no model takes.
UNIVERSE = {
    param: {v for spec in MODELS.values() for v in spec.controls()[key]} | {"bogus"}
    for param, key in CHOICE_CONTROLS.items()
}
ALL_SIZES = {s for spec in MODELS.values() for s in spec.controls()["sizes"]} | {
    "640x480",
    "bogus",
}


def _kind_for(param: str) -> Kind:
    return Kind.EDIT if param == "input_fidelity" else Kind.GENERATE


def _base(param: str, value) -> dict:
    # Some values only make sense together: compression needs a lossy format.
    return {"output_format": "png"} if param == "background" and value == "transparent" else {}


@pytest.mark.parametrize(("model", "param"), list(itertools.product(MODELS, CHOICE_CONTROLS)))
def test_every_value_the_studio_offers_validates_and_no_other(model, param):
    spec = get_model(model)
    controls = spec.controls()
    offered = set(controls[CHOICE_CONTROLS[param]])
    kind = _kind_for(param)
    if kind.value not in controls["kinds"]:
        return
    prompt = "a lighthouse"
    for value in sorted(UNIVERSE[param]):
        params = {**_base(param, value), param: value}
        if value in offered and param in KIND_PARAMS[kind]:
            assert errors_for(model, params, prompt=prompt, kind=kind) == {}, (model, value)
        else:
            assert param in errors_for(model, params, prompt=prompt, kind=kind), (model, value)


@pytest.mark.parametrize("model", MODELS)
def test_every_size_and_count_the_studio_offers_validates_and_no_other(model):
    controls = get_model(model).controls()
    for size in sorted(ALL_SIZES):
        errors = errors_for(model, {"size": size})
        if size in controls["sizes"]:
            assert "size" not in errors, size
        elif controls["custom_size"] is None:
            assert "size" in errors, size
    for n in range(0, 12):
        errors = errors_for(model, {"n": n})
        assert ("n" in errors) == (not 1 <= n <= controls["n_max"]), n
    for partials in range(-1, PARTIAL_IMAGES_MAX + 2):
        errors = errors_for(model, {"partial_images": partials})
        offered = 0 <= partials <= controls["partial_images_max"] and controls["partial_images_max"]
        assert ("partial_images" in errors) == (not offered), partials
    assert ("seed" in errors_for(model, {"seed": 1})) == (not controls["seed"])
    compression = errors_for(model, {"output_format": "webp", "output_compression": 50})
    assert ("output_compression" in compression) == (not controls["output_compression"])


# -- what is sent can only be what the model takes --------------------------------------


def _valid_param_sets(spec, kind):
    """A spread of valid parameter sets for the model: each offered value at least once."""
    controls = spec.controls()
    sets = [{}]
    for param, key in CHOICE_CONTROLS.items():
        if param in KIND_PARAMS[kind]:
            sets += [{**_base(param, v), param: v} for v in controls[key]]
    sets += [{"size": s} for s in controls["sizes"]]
    if controls["partial_images_max"]:
        sets.append({"partial_images": 2})
    if controls["output_compression"]:
        sets.append({"output_format": "jpeg", "output_compression": 40})
    return sets


SDK_METHODS = {
    Kind.GENERATE: ("generation_kwargs", Images.generate),
    Kind.EDIT: ("edit_kwargs", Images.edit),
    Kind.VARIATION: ("variation_kwargs", Images.create_variation),
}


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        (name, kind)
        for name, spec in MODELS.items()
        if spec.family is Family.OPENAI_IMAGES
        for kind in spec.kinds
    ],
)
def test_request_kwargs_only_ever_hold_what_the_model_takes(model, kind):
    spec = get_model(model)
    controls = spec.controls()
    method_name, sdk_method = SDK_METHODS[kind]
    sdk_params = set(inspect.signature(sdk_method).parameters)
    prompt = "" if kind is Kind.VARIATION else "a lighthouse"
    for params in _valid_param_sets(spec, kind):
        cleaned = spec.clean(prompt=prompt, params=params, allow_retired=True, kind=kind)
        method = getattr(spec, method_name)
        kwargs = (
            method(params=cleaned)
            if kind is Kind.VARIATION
            else method(prompt=prompt, params=cleaned)
        )
        assert set(kwargs) <= sdk_params
        assert ("response_format" in kwargs) == (model in ("dall-e-2", "dall-e-3"))
        for name, key in CHOICE_CONTROLS.items():
            if name in kwargs:
                assert kwargs[name] in controls[key]
        if "stream" in kwargs:
            assert controls["partial_images_max"] and kind in (Kind.GENERATE, Kind.EDIT)
        if "output_compression" in kwargs:
            assert controls["output_compression"]


def test_stray_stored_params_never_reach_the_request():
    # A job row edited by hand, or made before a model changed, still sends only what fits.
    kwargs = get_model("gpt-image-1.5").generation_kwargs(
        prompt="p", params={"style": "vivid", "response_format": "url", "quality": "hd"}
    )
    assert kwargs == {"prompt": "p", "model": "gpt-image-1.5", "n": 1, "size": "auto"}


def test_dall_e_models_always_ask_for_base64():
    for model in ("dall-e-2", "dall-e-3"):
        assert get_model(model).generation_kwargs(prompt="p", params={})["response_format"] == (
            "b64_json"
        )


def test_every_model_names_its_endpoints():
    assert get_model("dall-e-2").endpoints == {
        "generate": "/v1/images/generations",
        "edit": "/v1/images/edits",
        "variation": "/v1/images/variations",
    }
    assert get_model("gpt-4-all").endpoints == {"generate": "/v1/chat/completions"}
    assert get_model("midjourney").endpoints == {
        "generate": "/mj/submit/imagine",
        "blend": "/mj/submit/blend",
        "describe": "/mj/submit/describe",
    }


def test_the_sdk_still_knows_every_openai_images_model_we_offer():
    sdk_models = set(typing.get_args(image_model.ImageModel))
    ours = {n for n, s in MODELS.items() if s.family is Family.OPENAI_IMAGES}
    assert ours <= sdk_models
    assert openai.__version__
