from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from teams.models import Invitation, Membership, Team


def team_list(*, user) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("name", "id")


def team_editable(*, user) -> QuerySet[Team]:
    """Teams whose library and collections the user may change."""
    return Team.objects.filter(
        memberships__user=user, memberships__role__in=Membership.EDITING_ROLES
    ).order_by("name", "id")


def team_get(*, user, team_id: int) -> Team:
    """A team the user belongs to; 404 for anyone else, so ids reveal nothing."""
    return get_object_or_404(team_list(user=user), id=team_id)


def membership_get(*, user, team: Team) -> Membership:
    return get_object_or_404(Membership, user=user, team=team)


def membership_list(*, team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("role", "user__username")


def member_get(*, team: Team, user_id: int) -> Membership:
    """A member of a team the caller already got through ``team_get``; 404 otherwise."""
    return get_object_or_404(team.memberships.select_related("user"), user_id=user_id)


def invitation_pending(*, user) -> QuerySet[Invitation]:
    """Invitations waiting for the user's answer (teams they are already in are left out)."""
    return (
        Invitation.objects.filter(username=user.get_username())
        .exclude(team__memberships__user=user)
        .select_related("team", "invited_by")
        .order_by("-created_at", "-id")
    )


def invitation_get(*, user, invitation_id: int) -> Invitation:
    """One invitation addressed to the user; 404 for anyone else's."""
    return get_object_or_404(invitation_pending(user=user), id=invitation_id)


def invitation_list(*, team: Team) -> QuerySet[Invitation]:
    """A team's open invitations, as its owners typed them."""
    return team.invitations.order_by("username")
