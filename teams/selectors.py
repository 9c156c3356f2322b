from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from teams.models import Membership, Team


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
