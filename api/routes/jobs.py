"""Jobs of every kind, through the studio's forms and jobs.services."""

import base64
import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import F, Prefetch
from django.db.models.fields.tuple_lookups import Tuple, TupleLessThan
from django.utils.datastructures import MultiValueDict
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from api import schemas
from api.access import caller
from api.errors import FormInvalid
from api.models import Scope
from api.present import job_out
from gallery.models import Image
from jobs import selectors, services
from jobs.forms import EditForm, GenerationForm
from jobs.models import GenerationJob
from jobs.registry import Kind
from jobs.services import midjourney

router = Router(tags=["jobs"])
REFUSALS = {
    400: schemas.Error,
    403: schemas.Error,
    404: schemas.Error,
    422: schemas.Error,
    429: schemas.Error,
}


def _made(request, job: GenerationJob):
    who = caller(request)
    who.job_made(job)
    return Status(201, job_out(who.job(job.id)))


def _valid(form):
    if not form.is_valid():
        raise FormInvalid(form)
    return form


@router.post("/generate", response={200: schemas.Job, 201: schemas.Job, **REFUSALS})
def job_generate(request, payload: schemas.GenerateIn):
    """Text to image with any offered model (Midjourney's imagine too). A repeated
    `submit_token` answers 200 with the job the first request made."""
    who = caller(request)
    who.require(Scope.GENERATE)
    data = {"kind": Kind.GENERATE.value, **payload.dict(exclude_none=True)}
    form = _valid(GenerationForm(data))
    token = form.cleaned_data.get("submit_token")
    earlier = selectors.job_for_submit_token(user=who.user, submit_token=token)
    if earlier is not None:
        return Status(200, job_out(who.job(earlier.id)))
    try:
        job = services.job_create(
            user=who.user,
            model_name=form.cleaned_data["model"],
            prompt=form.cleaned_data["prompt"],
            params=form.params(),
            submit_token=token,
        )
    except IntegrityError:  # the same token's other request inserted its job first
        earlier = selectors.job_for_submit_token(user=who.user, submit_token=token)
        if earlier is None:
            raise
        return Status(200, job_out(who.job(earlier.id)))
    return _made(request, job)


@router.post("/edit", response={201: schemas.Job, **REFUSALS})
def job_edit(
    request,
    image_id: Form[schemas.Id],
    model: Form[str],
    prompt: Form[str],
    mask: File[UploadedFile],
):
    """A masked edit of a gallery image (multipart): the mask's transparent pixels are
    repainted."""
    who = caller(request)
    who.require(Scope.GENERATE)
    image = who.image(image_id)
    form = _valid(EditForm({"model": model, "prompt": prompt}, {"mask": mask}))
    job = services.job_create_edit(
        user=who.user,
        model_name=form.cleaned_data["model"],
        prompt=form.cleaned_data["prompt"],
        params={},
        source_image=image,
        mask=form.cleaned_data["mask"].read(),
    )
    return _made(request, job)


@router.post("/variations", response={201: schemas.Job, **REFUSALS})
def job_variations(request, payload: schemas.VariationIn):
    """Variations of a gallery image, by the offered model that makes them unless named."""
    who = caller(request)
    who.require(Scope.GENERATE)
    image = who.image(payload.image_id)
    model_name = payload.model
    if not model_name:
        spec = selectors.variation_model()
        if spec is None:
            raise ValidationError({"model": ["No offered model makes variations."]})
        model_name = spec.name
    job = services.job_create_variation(
        user=who.user, model_name=model_name, params={}, source_image=image
    )
    return _made(request, job)


@router.post("/blend", response={201: schemas.Job, **REFUSALS})
def job_blend(request, model: Form[str], images: File[list[UploadedFile]]):
    """Midjourney's blend: two to five uploaded images merged (multipart, `images` repeated)."""
    who = caller(request)
    who.require(Scope.GENERATE)
    files = MultiValueDict({"images": list(images)})
    form = _valid(GenerationForm({"model": model, "kind": Kind.BLEND.value}, files))
    job = services.job_create_blend(
        user=who.user, model_name=form.cleaned_data["model"], images=form.image_bytes()
    )
    return _made(request, job)


@router.post("/swap-face", response={201: schemas.Job, **REFUSALS})
def job_swap_face(
    request, model: Form[str], source: File[UploadedFile], target: File[UploadedFile]
):
    """InsightFace through a Midjourney proxy (multipart): the face in `source` put onto the
    person in `target`. Off unless an administrator enables it for the model's connection;
    every swap is recorded for staff to review."""
    who = caller(request)
    who.require(Scope.GENERATE)
    files = MultiValueDict({"source": [source], "target": [target]})
    data = {"model": model, "kind": GenerationJob.Kind.SWAP_FACE.value}
    form = _valid(GenerationForm(data, files))
    face, picture = form.swap_bytes()
    job = midjourney.job_create_swap_face(
        user=who.user, model_name=form.cleaned_data["model"], source=face, target=picture
    )
    return _made(request, job)


@router.post("/describe", response={201: schemas.Job, **REFUSALS})
def job_describe(
    request,
    model: Form[str],
    image: File[UploadedFile | None] = None,
    image_id: Form[schemas.Id | None] = None,
):
    """Midjourney's describe: prompts suggested for an uploaded image or a gallery image."""
    who = caller(request)
    who.require(Scope.GENERATE)
    files = MultiValueDict({"images": [image]} if image is not None else {})
    form = _valid(GenerationForm({"model": model, "kind": Kind.DESCRIBE.value}, files))
    uploads = form.image_bytes()
    source = who.image(image_id) if image_id is not None and not uploads else None
    job = services.job_create_describe(
        user=who.user,
        model_name=form.cleaned_data["model"],
        image=uploads[0] if uploads else None,
        source_image=source,
    )
    return _made(request, job)


def _cursor_encode(job: GenerationJob) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at.isoformat()}|{job.id}".encode()).decode()


def _cursor_decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        moment, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(moment), uuid.UUID(job_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError({"cursor": ["This page cursor is invalid."]}) from None


class JobFilters(Schema):
    status: GenerationJob.Status | None = None
    kind: GenerationJob.Kind | None = None
    cursor: str = ""
    limit: int = 20


@router.get("", response={200: schemas.JobPage, **REFUSALS})
def job_list(request, filters: Query[JobFilters]):
    """The caller's jobs, newest first; `cursor` (the previous page's `next_cursor`) pages on."""
    who = caller(request)
    who.require(Scope.READ)
    limit = min(max(filters.limit, 1), 100)
    jobs = who.jobs()
    if filters.status:
        jobs = jobs.filter(status=filters.status)
    if filters.kind:
        jobs = jobs.filter(kind=filters.kind)
    if filters.cursor:
        # (created_at, id) < (…, …): jobs made in the same instant are neither lost nor repeated.
        position = Tuple(F("created_at"), F("id"))
        jobs = jobs.filter(TupleLessThan(position, _cursor_decode(filters.cursor)))
    # As jobs.selectors shows them: a hidden image vanishes from its owner's jobs too.
    visible = Image.objects.filter(is_hidden=False).order_by("index")
    rows = list(
        jobs.prefetch_related(Prefetch("images", queryset=visible)).order_by("-created_at", "-id")[
            : limit + 1
        ]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "jobs": [job_out(job) for job in rows],
        "next_cursor": _cursor_encode(rows[-1]) if more else None,
    }


@router.get("/{job_id}", response={200: schemas.Job, **REFUSALS})
def job_get(request, job_id: uuid.UUID):
    who = caller(request)
    who.require(Scope.READ)
    return job_out(who.job(job_id))


@router.post("/{job_id}/cancel", response={200: schemas.Job, **REFUSALS})
def job_cancel(request, job_id: uuid.UUID):
    """Cancels a job that has not finished (a finished one is answered as it is)."""
    who = caller(request)
    who.require(Scope.GENERATE)
    job = who.job(job_id)
    services.job_cancel(job=job)
    return job_out(who.job(job_id))


@router.post("/{job_id}/retry", response={201: schemas.Job, **REFUSALS})
def job_retry(request, job_id: uuid.UUID):
    """A new job with a finished job's model, prompt, parameters and inputs."""
    who = caller(request)
    who.require(Scope.GENERATE)
    job = who.job(job_id)
    return _made(request, services.job_retry(job=job))


@router.post("/{job_id}/actions", response={201: schemas.Job, **REFUSALS})
def job_action(request, job_id: uuid.UUID, payload: schemas.ActionIn):
    """One of a finished Midjourney job's buttons (its `actions`), as a follow-up job."""
    who = caller(request)
    who.require(Scope.GENERATE)
    job = who.job(job_id)
    follow_up = services.job_create_midjourney_action(
        user=who.user, job=job, custom_id=payload.custom_id
    )
    return _made(request, follow_up)
