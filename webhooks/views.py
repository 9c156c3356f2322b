from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webhooks import selectors, services
from webhooks.forms import EndpointCreateForm, EndpointEditForm


def _errors_to(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _secret_page(request, endpoint, secret: str, *, status: int = 200):
    """The one answer that shows a signing secret; nothing keeps it in a readable form."""
    context = {"endpoint": endpoint, "secret": secret}
    response = render(request, "webhooks/endpoint_secret.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def endpoint_list(request):
    teams = list(selectors.team_owned_list(user=request.user))
    form = EndpointCreateForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = services.endpoint_create(
                user=request.user,
                url=data["url"],
                description=data["description"],
                event_types=data["event_types"],
                team=data["for_team"],
            )
        except ValidationError as error:
            _errors_to(form, error)
        else:
            return _secret_page(request, endpoint, secret, status=201)
    context = {"endpoints": selectors.endpoint_list(user=request.user), "form": form}
    return render(
        request, "webhooks/endpoint_list.html", context, status=400 if form.errors else 200
    )


@login_required
def endpoint_detail(request, endpoint_id):
    endpoint = selectors.endpoint_get(user=request.user, endpoint_id=endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    }
    form = EndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, **form.cleaned_data)
        except ValidationError as error:
            _errors_to(form, error)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("webhooks:detail", endpoint.id)
    context = {
        "endpoint": endpoint,
        "form": form,
        "deliveries": selectors.delivery_log(endpoint=endpoint),
    }
    return render(
        request, "webhooks/endpoint_detail.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def endpoint_test(request, endpoint_id):
    endpoint = selectors.endpoint_get(user=request.user, endpoint_id=endpoint_id)
    try:
        services.delivery_create_test(endpoint=endpoint)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("A test event is on its way; its attempts appear below."))
    return redirect("webhooks:detail", endpoint.id)


@login_required
@require_POST
def endpoint_rotate(request, endpoint_id):
    endpoint = selectors.endpoint_get(user=request.user, endpoint_id=endpoint_id)
    secret = services.endpoint_secret_rotate(endpoint=endpoint)
    messages.success(request, _("New secret made; the old one no longer signs anything."))
    return _secret_page(request, endpoint, secret)


@login_required
def endpoint_delete(request, endpoint_id):
    """GET asks for confirmation; POST deletes."""
    endpoint = selectors.endpoint_get(user=request.user, endpoint_id=endpoint_id)
    if request.method != "POST":
        return render(request, "webhooks/endpoint_delete.html", {"endpoint": endpoint})
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, _("Endpoint deleted."))
    return redirect("webhooks:list")
