from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api import selectors
from api.forms import RevokeForm, TokenForm
from api.models import AccessToken
from api.services import TokenError, token_create, token_revoke
from moderation.permissions import staff_required
from teams.selectors import team_list


@login_required
def token_page(request):
    """The user's tokens; a new one's secret is shown on this answer only."""
    form = TokenForm(request.POST or None, teams=team_list(user=request.user))
    secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, secret = token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    team=form.chosen_team(),
                )
            except TokenError as error:
                form.add_error(None, str(error))
            else:
                form = TokenForm(teams=team_list(user=request.user))
                status = 201
        if form.errors:
            status = 400
    context = {"form": form, "secret": secret, "tokens": selectors.token_list(user=request.user)}
    response = render(request, "api/tokens.html", context, status=status)
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke_view(request, token_id):
    token = selectors.token_get(user=request.user, token_id=token_id)
    token_revoke(token=token, by=request.user)
    messages.info(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api_tokens:list")


@staff_required
def token_admin(request):
    """Every token, for staff; a revoke here is written to the audit log."""
    query = request.GET.get("q", "")
    context = {
        "tokens": selectors.token_list_all(q=query),
        "query": query,
        "revoke_form": RevokeForm(),
    }
    return render(request, "api/token_admin.html", context)


@staff_required
@require_POST
def token_admin_revoke(request, token_id):
    token = get_object_or_404(AccessToken, id=token_id)
    form = RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if token_revoke(token=token, by=request.user, reason=reason):
        messages.info(request, _("Token %(prefix)s… revoked.") % {"prefix": token.prefix})
    return redirect("api_tokens:all")
