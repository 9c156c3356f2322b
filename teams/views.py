from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from teams import selectors, services
from teams.forms import MemberForm, TeamForm
from teams.models import Membership


@login_required
def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = services.team_create(user=request.user, name=form.cleaned_data["name"])
        return redirect("teams:detail", team.id)
    context = {
        "teams": selectors.team_list(user=request.user),
        "invitations": selectors.invitation_pending(user=request.user),
        "form": form,
    }
    return render(request, "teams/team_list.html", context)


@login_required
def team_detail(request, team_id):
    team = selectors.team_get(user=request.user, team_id=team_id)
    membership = selectors.membership_get(user=request.user, team=team)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            said = services.membership_set(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, said)
            return redirect("teams:detail", team.id)
    context = {
        "team": team,
        "membership": membership,
        "members": selectors.membership_list(team=team),
        "invitations": selectors.invitation_list(team=team) if membership.is_owner else [],
        "form": form,
    }
    return render(request, "teams/team_detail.html", context, status=400 if form.errors else 200)


@login_required
def member_remove(request, team_id, user_id):
    """GET asks for confirmation; POST removes."""
    team = selectors.team_get(user=request.user, team_id=team_id)
    member = selectors.member_get(team=team, user_id=user_id)
    if selectors.membership_get(user=request.user, team=team).role != Membership.Role.OWNER:
        messages.error(request, services.OWNERS_ONLY)
        return redirect("teams:detail", team.id)
    if request.method != "POST":
        context = {"team": team, "member": member}
        return render(request, "teams/member_remove.html", context)
    try:
        services.membership_remove(actor=request.user, team=team, user_id=user_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            gettext("%(username)s is no longer in %(team)s.")
            % {"username": member.user.get_username(), "team": team.name},
        )
    return redirect("teams:detail", team.id)


@login_required
def team_leave(request, team_id):
    """GET asks for confirmation; POST leaves."""
    team = selectors.team_get(user=request.user, team_id=team_id)
    if request.method != "POST":
        return render(request, "teams/team_leave.html", {"team": team})
    try:
        services.membership_leave(user=request.user, team=team)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("teams:detail", team.id)
    messages.success(request, gettext("You left %(team)s.") % {"team": team.name})
    return redirect("teams:list")


@login_required
@require_POST
def invitation_answer(request, invitation_id, answer):
    invitation = selectors.invitation_get(user=request.user, invitation_id=invitation_id)
    if answer == "accept":
        services.invitation_accept(user=request.user, invitation=invitation)
        messages.success(request, gettext("You joined %(team)s.") % {"team": invitation.team.name})
        return redirect("teams:detail", invitation.team_id)
    services.invitation_decline(user=request.user, invitation=invitation)
    messages.info(
        request,
        gettext("You declined the invitation to %(team)s.") % {"team": invitation.team.name},
    )
    return redirect("teams:list")


@login_required
@require_POST
def invitation_cancel(request, team_id, invitation_id):
    team = selectors.team_get(user=request.user, team_id=team_id)
    try:
        services.invitation_cancel(actor=request.user, team=team, invitation_id=invitation_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return redirect("teams:detail", team.id)
