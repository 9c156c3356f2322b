from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from teams import selectors, services
from teams.forms import MemberForm, TeamForm


@login_required
def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = services.team_create(user=request.user, name=form.cleaned_data["name"])
        return redirect("teams:detail", team.id)
    return render(
        request,
        "teams/team_list.html",
        {"teams": selectors.team_list(user=request.user), "form": form},
    )


@login_required
def team_detail(request, team_id):
    team = selectors.team_get(user=request.user, team_id=team_id)
    membership = selectors.membership_get(user=request.user, team=team)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_set(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("teams:detail", team.id)
    return render(
        request,
        "teams/team_detail.html",
        {
            "team": team,
            "membership": membership,
            "members": selectors.membership_list(team=team),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def member_remove(request, team_id, user_id):
    team = selectors.team_get(user=request.user, team_id=team_id)
    try:
        services.membership_remove(actor=request.user, team=team, user_id=user_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect("teams:detail", team.id)
