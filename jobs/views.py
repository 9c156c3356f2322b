from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from jobs import selectors, services
from jobs.admission import JobRefused
from jobs.connections import offered_models
from jobs.forms import GenerationForm


def _studio_context(request, form):
    return {
        "form": form,
        "jobs": selectors.job_list(user=request.user),
        "models": {spec.name: spec.controls() for spec in offered_models()},
    }


@login_required
def studio(request):
    form = GenerationForm(request.POST or None, initial=request.GET or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(
                user=request.user,
                model_name=form.cleaned_data["model"],
                prompt=form.cleaned_data["prompt"],
                params=form.params(),
            )
        except ValidationError as error:
            form.add_registry_errors(error)
        except JobRefused as refusal:
            form.add_error(None, refusal.message)
            response = render(
                request,
                "jobs/partials/form.html" if request.htmx else "jobs/studio.html",
                _studio_context(request, form),
                status=refusal.status_code,
            )
            if refusal.retry_after is not None:
                response["Retry-After"] = str(refusal.retry_after)
            return response
        else:
            if request.htmx:
                return render(request, "jobs/partials/job_card.html", {"job": job}, status=201)
            return redirect("jobs:studio")
    status = 400 if form.errors else 200
    template = "jobs/partials/form.html" if request.htmx and form.errors else "jobs/studio.html"
    return render(request, template, _studio_context(request, form), status=status)


@login_required
def job_card(request, job_id):
    job = selectors.job_get(user=request.user, job_id=job_id)
    return render(request, "jobs/partials/job_card.html", {"job": job})


@login_required
@require_POST
def job_cancel(request, job_id):
    job = selectors.job_get(user=request.user, job_id=job_id)
    services.job_cancel(job=job)
    job.refresh_from_db()
    if request.htmx:
        return render(request, "jobs/partials/job_card.html", {"job": job})
    return redirect("jobs:studio")
