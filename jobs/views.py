import json
import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from gallery.selectors import image_get, image_urls
from jobs import selectors, services
from jobs.admission import JobRefused
from jobs.connections import offered_controls
from jobs.forms import EditForm, GenerationForm, initial_from_image, initial_from_job
from jobs.models import GenerationJob
from jobs.providers import ProviderError
from jobs.providers.errors import message_display
from jobs.registry import Kind
from jobs.services import midjourney


def _card_actions() -> dict:
    """What the buttons under each finished image may offer, from the registry."""
    variation = selectors.variation_model()
    return {"can_edit": bool(selectors.edit_models()), "variation_model": variation}


def _studio_context(request, form):
    return {
        "form": form,
        "jobs": selectors.job_list(user=request.user),
        "models": offered_controls(),
        "history": selectors.prompt_history(user=request.user),
        **_card_actions(),
    }


def _number_or_404(value: str, kind):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise Http404("No such item.") from None


def _remix_initial(request) -> dict | None:
    """Form values that repeat an image's or a job's request; 404 for anyone else's."""
    if "remix" in request.GET:
        image = image_get(user=request.user, image_id=_number_or_404(request.GET["remix"], int))
        return initial_from_image(image)
    if "job" in request.GET:
        job_id = _number_or_404(request.GET["job"], uuid.UUID)
        return initial_from_job(selectors.job_get(user=request.user, job_id=job_id))
    return None


def _card(request, job, *, status: int = 200, error: str = ""):
    context = {"job": job, "action_error": error, **_card_actions()}
    return render(request, "jobs/partials/job_card.html", context, status=status)


def _new_card(request, job):
    """A new job's card; the page refreshes its prompt history when it sees one."""
    return trigger_client_event(_card(request, job, status=201), "job-created")


def _refused(response, refusal: JobRefused):
    if refusal.retry_after is not None:
        response["Retry-After"] = str(refusal.retry_after)
    return response


def _errors_in_place(response, selector: str):
    """Answer htmx with the element to replace, so messages appear where they belong."""
    return reswap(retarget(response, selector), "outerHTML")


def _follow_up(request, origin, create):
    """A job made from the card of ``origin``: the new card, or the error on that card."""
    try:
        job = create()
    except ValidationError as error:
        response = _card(request, origin, status=400, error=" ".join(error.messages))
        return _errors_in_place(response, f"#job-{origin.id}")
    except JobRefused as refusal:
        response = _card(request, origin, status=refusal.status_code, error=refusal.message)
        return _refused(_errors_in_place(response, f"#job-{origin.id}"), refusal)
    if request.htmx:
        return _new_card(request, job)
    return redirect("jobs:studio")


@login_required
def studio(request):
    initial = _remix_initial(request) if request.method == "GET" else None
    form = GenerationForm(
        request.POST or None, request.FILES or None, initial=initial or request.GET or None
    )
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data.get("submit_token")
        earlier = selectors.job_for_submit_token(user=request.user, submit_token=token)
        if earlier is not None:
            return _earlier_card(request, earlier)
        try:
            job = _composer_job(request, form)
        except IntegrityError:  # the same form's other submit inserted its job first
            earlier = selectors.job_for_submit_token(user=request.user, submit_token=token)
            return _earlier_card(request, earlier)
        except ValidationError as error:
            form.add_registry_errors(error)
        except JobRefused as refusal:
            form.add_error(None, refusal.message)
            return _refused(_studio_form(request, form, status=refusal.status_code), refusal)
        else:
            if request.htmx:
                return _with_fresh_token(_new_card(request, job))
            return redirect("jobs:studio")
    return _studio_form(request, form, status=400 if form.errors else 200)


def _with_fresh_token(response):
    """The composer stays on the page: its next submit needs a token of its own."""
    token = render_to_string("jobs/partials/submit_token.html", {"token": uuid.uuid4()})
    response.content += token.encode()
    return response


def _earlier_card(request, job):
    """A repeated submit of one form: the card of the job it already made, in its place."""
    if not request.htmx:
        return redirect("jobs:studio")
    response = _errors_in_place(_card(request, job), f"#job-{job.id}")
    return _with_fresh_token(response)


def _composer_job(request, form):
    """The job the composer asks for: imagine (a prompt), or Midjourney's blend, describe
    or face swap."""
    kind = form.cleaned_data.get("kind") or Kind.GENERATE
    model_name = form.cleaned_data["model"]
    if kind == GenerationJob.Kind.SWAP_FACE:
        source, target = form.swap_bytes()
        return midjourney.job_create_swap_face(
            user=request.user, model_name=model_name, source=source, target=target
        )
    if kind == Kind.BLEND:
        return services.job_create_blend(
            user=request.user, model_name=model_name, images=form.image_bytes()
        )
    if kind == Kind.DESCRIBE:
        images = form.image_bytes()
        if len(images) > 1:
            raise ValidationError(
                {"images": [f"Describe takes exactly one image; you gave {len(images)}."]}
            )
        return services.job_create_describe(
            user=request.user, model_name=model_name, image=images[0] if images else None
        )
    return services.job_create(
        user=request.user,
        model_name=model_name,
        prompt=form.cleaned_data["prompt"],
        params=form.params(),
        submit_token=form.cleaned_data.get("submit_token"),
    )


def _studio_form(request, form, *, status: int):
    if request.htmx and form.errors:
        response = render(request, "jobs/partials/form.html", {"form": form}, status=status)
        return _errors_in_place(response, "#generate-form")
    return render(request, "jobs/studio.html", _studio_context(request, form), status=status)


@login_required
@require_GET
def prompt_history(request):
    query = request.GET.get("q", "")
    history = selectors.prompt_history(user=request.user, query=query)
    return render(request, "jobs/partials/history_list.html", {"history": history, "query": query})


@login_required
def job_card(request, job_id):
    return _card(request, selectors.job_get(user=request.user, job_id=job_id))


@login_required
@require_GET
def job_detail(request, job_id):
    """A job's card on a page of its own (the card URL answers the studio's polling)."""
    job = selectors.job_get(user=request.user, job_id=job_id)
    return render(request, "jobs/job.html", {"job": job, **_card_actions()})


@login_required
@require_GET
def job_partial_image(request, job_id):
    """Checks ownership, then redirects to a short-lived signed link to the latest partial."""
    job = selectors.job_get(user=request.user, job_id=job_id)
    if not job.partial_image_key:
        raise Http404("This job has no partial image.")
    return redirect(default_storage.url(job.partial_image_key))


@login_required
@require_POST
def job_cancel(request, job_id):
    job = selectors.job_get(user=request.user, job_id=job_id)
    services.job_cancel(job=job)
    job.refresh_from_db()
    if request.htmx:
        return _card(request, job)
    return redirect("jobs:studio")


@login_required
@require_POST
def job_retry(request, job_id):
    job = selectors.job_get(user=request.user, job_id=job_id)
    return _follow_up(request, job, lambda: services.job_retry(job=job))


@login_required
@require_POST
def job_midjourney_action(request, job_id):
    """One of a finished Midjourney task's buttons (U1, V2, reroll …) as a follow-up job."""
    job = selectors.job_get(user=request.user, job_id=job_id)
    custom_id = request.POST.get("custom_id", "")
    mask = request.FILES.get("mask")
    return _follow_up(
        request,
        job,
        lambda: services.job_create_midjourney_action(
            user=request.user,
            job=job,
            custom_id=custom_id,
            prompt=request.POST.get("prompt"),
            mask=mask.read() if mask else None,
        ),
    )


@login_required
@require_GET
def job_midjourney_modal(request, job_id):
    """The dialog of a button that opens a modal: the prompt to confirm, and for
    Vary (Region) the mask editor over the image."""
    job = selectors.job_get(user=request.user, job_id=job_id)
    context = selectors.midjourney_modal(job=job, custom_id=request.GET.get("custom_id", ""))
    return render(request, "jobs/partials/mj_modal.html", context)


@login_required
@require_POST
def midjourney_shorten(request):
    """The studio's Shorten: a job whose card lists Midjourney's shorter prompts."""
    try:
        job = midjourney.job_create_shorten(
            user=request.user,
            model_name=request.POST.get("model", ""),
            prompt=request.POST.get("prompt", ""),
        )
    except ValidationError as error:
        response = render(
            request,
            "jobs/partials/mj_notice.html",
            {"message": " ".join(error.messages)},
            status=400,
        )
        return _errors_in_place(response, "#shorten-notice")
    except JobRefused as refusal:
        response = render(
            request,
            "jobs/partials/mj_notice.html",
            {"message": refusal.message},
            status=refusal.status_code,
        )
        return _refused(_errors_in_place(response, "#shorten-notice"), refusal)
    return _new_card(request, job)


@login_required
@require_POST
def midjourney_seed(request, job_id):
    """Get seed: fetch and record a finished Midjourney image's seed; the card shows it,
    or says plainly why the proxy could not tell."""
    job = selectors.job_get(user=request.user, job_id=job_id)
    try:
        midjourney.midjourney_seed_fetch(job=job)
    except ValidationError as error:
        return _card(request, job, status=400, error=" ".join(error.messages))
    except ProviderError as error:
        return _card(request, job, status=200, error=message_display(error.code, error.message))
    return _card(request, job)


@csrf_exempt
@require_POST
def midjourney_hook(request, job_id, secret):
    """The Midjourney proxy's callback (notifyHook): the task as JSON. It is unsigned, so
    the per-job secret in the path is what makes it the job's."""
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        return HttpResponseBadRequest("The body is not JSON.")
    if not midjourney.midjourney_callback(job_id=job_id, secret=secret, payload=payload):
        raise Http404("No such callback.")
    return HttpResponse(status=204)


@login_required
@require_POST
def image_variations(request, image_id):
    image = image_get(user=request.user, image_id=image_id)
    spec = selectors.variation_model()
    if spec is None:
        raise Http404("No offered model makes variations.")
    if not spec.variations:
        # No variations endpoint: an edit of the image, asked for in words (the card says so).
        return _follow_up(
            request,
            image.job,
            lambda: services.job_create_edit(
                user=request.user,
                model_name=spec.name,
                prompt=spec.variation_prompt(image.job.prompt),
                params={},
                source_image=image,
            ),
        )
    return _follow_up(
        request,
        image.job,
        lambda: services.job_create_variation(
            user=request.user, model_name=spec.name, params={}, source_image=image
        ),
    )


@login_required
def image_edit(request, image_id):
    """The mask editor for one image (GET), and the edit job it submits (POST)."""
    image = image_get(user=request.user, image_id=image_id)
    form = EditForm(
        request.POST or None,
        request.FILES or None,
        initial={"model": image.job.model, "prompt": image.job.prompt},
    )
    if request.method == "POST" and form.is_valid():
        mask = form.cleaned_data["mask"]
        try:
            job = services.job_create_edit(
                user=request.user,
                model_name=form.cleaned_data["model"],
                prompt=form.cleaned_data["prompt"],
                params={},
                source_image=image,
                mask=mask.read() if mask else None,
            )
        except ValidationError as error:
            form.add_registry_errors(error)
        except JobRefused as refusal:
            form.add_error(None, refusal.message)
            return _refused(_edit_form(request, image, form, status=refusal.status_code), refusal)
        else:
            if request.htmx:
                return _new_card(request, job)
            return redirect("jobs:studio")
    return _edit_form(request, image, form, status=400 if form.errors else 200)


def _edit_form(request, image, form, *, status: int):
    context = {
        "image": image,
        "form": form,
        "urls": image_urls(image),
        "no_edit_model_reason": selectors.NO_EDIT_MODEL_REASON,
    }
    if request.htmx and form.errors:
        response = render(request, "jobs/partials/edit_form.html", context, status=status)
        return _errors_in_place(response, "#edit-form")
    template = "jobs/partials/editor.html" if request.htmx else "jobs/editor.html"
    return render(request, template, context, status=status)
