import uuid
from typing import Protocol, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jobs.connections import offered_in_place_of, offered_models
from jobs.models import GenerationJob
from jobs.registry import Kind, UnknownModel, get_model
from jobs.selectors import edit_models

PARAM_FIELDS = (
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
)


class _FormErrors(Protocol):
    """What the mixin uses of the form it is mixed into."""

    fields: dict[str, forms.Field]

    def add_error(self, field: str | None, error: str) -> None: ...


class RegistryErrorsMixin:
    def add_registry_errors(self: _FormErrors, error: ValidationError) -> None:
        """Show the service's messages beside their fields, word for word."""
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)


# What the composer can ask for; the chosen model's registry kinds say which it offers.
# Edits and variations start from an image's card instead.
COMPOSER_KINDS = [
    (Kind.GENERATE.value, _("Imagine")),
    (Kind.BLEND.value, _("Blend")),
    (Kind.DESCRIBE.value, _("Describe")),
    # Offered only where the model's connection allows face swaps (``swap_face`` in the
    # studio's controls); the service refuses it elsewhere.
    (GenerationJob.Kind.SWAP_FACE.value, _("Face swap")),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploads under one name, as Django's documentation suggests."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class GenerationForm(RegistryErrorsMixin, forms.Form):
    """Collects a request; the model registry (via the services) decides what is valid."""

    model = forms.ChoiceField()
    kind = forms.ChoiceField(choices=COMPOSER_KINDS, required=False)
    # Not required here: the registry says whether this kind of request needs one, in its words.
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), strip=True, required=False)
    images = MultipleFileField(required=False)
    # A face swap's two uploads: the face to use, and the picture to put it on.
    source = forms.FileField(required=False)
    target = forms.FileField(required=False)
    size = forms.CharField(required=False)
    n = forms.IntegerField(required=False, min_value=1, initial=1)
    quality = forms.CharField(required=False)
    style = forms.CharField(required=False)
    background = forms.CharField(required=False)
    output_format = forms.CharField(required=False)
    output_compression = forms.IntegerField(required=False)
    moderation = forms.CharField(required=False)
    partial_images = forms.IntegerField(required=False)
    seed = forms.IntegerField(required=False)
    # One per rendered form (see job_create's submit_token): the page swaps in a fresh one
    # after each job it makes.
    submit_token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_field = cast(forms.ChoiceField, self.fields["model"])
        model_field.choices = [(spec.name, spec.display_label) for spec in offered_models()]
        if not self.is_bound:
            self.initial["submit_token"] = uuid.uuid4()

    def clean(self):
        """Uploads are judged by their count, their declared sizes and whether the model
        takes them for this kind of request before a byte of them is read."""
        cleaned = super().clean() or {}
        uploads = cleaned.get("images") or []
        kind = cleaned.get("kind") or Kind.GENERATE
        if kind == GenerationJob.Kind.SWAP_FACE:
            self._clean_swap_face(cleaned)
            return cleaned
        if not uploads or kind == Kind.GENERATE:
            return cleaned  # imagine reads no uploads
        try:
            spec = get_model(cleaned.get("model") or "")
        except UnknownModel:
            return cleaned
        kind = Kind(kind)
        if kind not in spec.kinds:
            try:
                spec.clean(prompt="", params={}, allow_retired=True, kind=kind)
            except ValidationError as error:
                for message in error.message_dict.get("model", []):
                    self.add_error("model", message)
            return cleaned
        low, high = spec.input_count(kind)
        if len(uploads) > high:
            self.add_error("images", _too_many(spec, kind, len(uploads), low, high))
            return cleaned
        limit = spec.max_input_bytes
        for number, upload in enumerate(uploads, start=1):
            if limit and upload.size > limit:
                prefix = (
                    gettext("Image %(number)s: ") % {"number": number} if len(uploads) > 1 else ""
                )
                self.add_error(
                    "images",
                    prefix
                    + gettext(
                        "The image is %(size).1f MB; %(model)s takes images under %(limit)s MB."
                    )
                    % {
                        "size": upload.size / 1_048_576,
                        "model": spec.label,
                        "limit": limit // 1_048_576,
                    },
                )
        return cleaned

    def _clean_swap_face(self, cleaned: dict) -> None:
        """Both uploads present, each under the model's limit by its declared size."""
        try:
            spec = get_model(cleaned.get("model") or "")
        except UnknownModel:
            return
        limit = spec.max_input_bytes
        missing = {
            "source": _("Upload the face to use."),
            "target": _("Upload the picture to put the face on."),
        }
        for name, message in missing.items():
            upload = cleaned.get(name)
            if upload is None:
                self.add_error(name, message)
            elif limit and upload.size > limit:
                self.add_error(
                    name,
                    gettext(
                        "The image is %(size).1f MB; %(model)s takes images under %(limit)s MB."
                    )
                    % {
                        "size": upload.size / 1_048_576,
                        "model": spec.label,
                        "limit": limit // 1_048_576,
                    },
                )

    def swap_bytes(self) -> tuple[bytes, bytes]:
        """A face swap's uploads (source face, target picture), once ``clean`` accepted them."""
        return self.cleaned_data["source"].read(), self.cleaned_data["target"].read()

    def image_bytes(self) -> list[bytes]:
        """The uploads' bytes, read only once ``clean`` has accepted their count and sizes."""
        return [upload.read() for upload in self.cleaned_data.get("images") or []]

    def params(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in PARAM_FIELDS
            if self.cleaned_data.get(name) not in (None, "")
        }


def _too_many(spec, kind: Kind, count: int, low: int, high: int) -> str:
    if kind == Kind.DESCRIBE:
        return gettext("Describe takes exactly one image; you gave %(count)s.") % {"count": count}
    if low == high:
        return gettext("%(model)s takes exactly one image here; you gave %(count)s.") % {
            "model": spec.label,
            "count": count,
        }
    return gettext("%(model)s takes between %(low)s and %(high)s images; you gave %(count)s.") % {
        "model": spec.label,
        "low": low,
        "high": high,
        "count": count,
    }


def initial_from_job(job: GenerationJob) -> dict:
    """Studio form values that repeat a job: its model, prompt and parameters."""
    params = {name: value for name, value in job.params.items() if name in PARAM_FIELDS}
    # A model shut down since is offered as its successor (the image keeps its model name).
    return {**params, "model": offered_in_place_of(job.model), "prompt": job.prompt}


def initial_from_image(image) -> dict:
    """Studio form values that repeat one image of a job: as ``initial_from_job``, with the
    seed that drew that image. Models that take a seed draw a job's image ``i`` with
    ``seed + i`` (jobs/providers/demo.py), so image 2 of a seed-7 job was drawn with 8."""
    initial = initial_from_job(image.job)
    if isinstance(initial.get("seed"), int):
        initial["seed"] += image.index
    if image.job.provider_seed:  # Midjourney's, fetched with "Get seed"
        from jobs.services.midjourney import prompt_with_seed

        initial["prompt"] = prompt_with_seed(initial["prompt"], image.job.provider_seed)
    return initial


class EditForm(RegistryErrorsMixin, forms.Form):
    """A masked edit of a gallery image; ``job_create_edit`` validates the mask."""

    model = forms.ChoiceField()
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=True)
    # The server needs a mask (the editor's hint says so): no mask is no edit.
    mask = forms.FileField(
        error_messages={"required": _("Paint the area to change first: an edit needs a mask.")}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_field = cast(forms.ChoiceField, self.fields["model"])
        model_field.choices = [(spec.name, spec.display_label) for spec in edit_models()]

    def clean(self):
        """A mask over the model's limit is refused by its declared size, unread."""
        cleaned = super().clean() or {}
        mask = cleaned.get("mask")
        try:
            spec = get_model(cleaned.get("model") or "")
        except UnknownModel:
            return cleaned
        if mask is not None and mask.size > spec.mask_max_bytes:
            self.add_error(
                "mask",
                gettext("The mask is %(size).1f MB; the mask must be a PNG under %(limit)s MB.")
                % {"size": mask.size / 1_048_576, "limit": spec.mask_max_bytes // 1_048_576},
            )
        return cleaned
