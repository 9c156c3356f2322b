from django.db.models import Max, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from gallery.models import Image
from jobs.connections import offered_models
from jobs.models import GenerationJob
from jobs.registry import ModelSpec


def _visible_images():
    # A hidden image vanishes from its owner's studio too; only staff see it (in moderation).
    return Image.objects.filter(is_hidden=False).order_by("index")


def job_list(*, user, limit: int = 20) -> QuerySet[GenerationJob]:
    images = _visible_images()
    return (
        GenerationJob.objects.filter(owner=user)
        .prefetch_related(Prefetch("images", queryset=images))
        .order_by("-created_at")[:limit]
    )


def job_for_submit_token(*, user, submit_token) -> GenerationJob | None:
    """The job an earlier submit of the same studio form made, if any."""
    if submit_token is None:
        return None
    return (
        GenerationJob.objects.prefetch_related(Prefetch("images", queryset=_visible_images()))
        .filter(owner=user, submit_token=submit_token)
        .first()
    )


def job_get(*, user, job_id) -> GenerationJob:
    """A job the user owns; 404 for anyone else's."""
    return get_object_or_404(
        GenerationJob.objects.prefetch_related(Prefetch("images", queryset=_visible_images())),
        id=job_id,
        owner=user,
    )


def prompt_history(*, user, query: str = "", limit: int = 15) -> list[str]:
    """The user's distinct prompts, most recently used first."""
    jobs = GenerationJob.objects.filter(owner=user).exclude(prompt="")
    if query.strip():
        jobs = jobs.filter(prompt__icontains=query.strip())
    rows = jobs.values("prompt").annotate(last_used=Max("created_at")).order_by("-last_used")
    return [row["prompt"] for row in rows[:limit]]


# Said wherever mask editing would be offered but cannot work.
NO_EDIT_MODEL_REASON = (
    "Editing with a mask needs a model that repaints part of an image (DALL·E 2 or a GPT "
    "image model), and no connection here offers one. An administrator can add one."
)


def edit_models() -> list[ModelSpec]:
    """Offered models that repaint a masked area of an image."""
    return [spec for spec in offered_models() if spec.edits and spec.masks]


def variation_model() -> ModelSpec | None:
    """The offered model that makes variations of any image: one with the variations
    endpoint (DALL·E 2, where a connection still serves it), else one that edits without
    a mask, which makes them as an edit with a prompt derived from the image's own."""
    offered = offered_models()
    return next((spec for spec in offered if spec.variations), None) or next(
        (spec for spec in offered if spec.edits and not spec.edit_needs_transparency), None
    )


def midjourney_modal(*, job: GenerationJob, custom_id: str) -> dict:
    """What a Midjourney modal dialog shows: the button, the prompt to confirm, and for
    Vary (Region) the image to paint over; 404 for a button the task does not offer."""
    from django.http import Http404

    from gallery.selectors import image_urls
    from jobs.providers.midjourney import INPAINT_PREFIX, button_name, opens_modal

    button = next((b for b in job.provider_actions if b.get("custom_id") == custom_id), None)
    if button is None or not opens_modal(custom_id):
        raise Http404("That button opens no modal.")
    image = job.images.first() if custom_id.startswith(INPAINT_PREFIX) else None
    if custom_id.startswith(INPAINT_PREFIX) and image is None:
        raise Http404("The image to vary is gone.")
    return {
        "job": job,
        "button": button,
        "button_name": button_name(button),
        "image": image,
        "urls": image_urls(image) if image is not None else None,
    }
