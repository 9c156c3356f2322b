from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from teams.models import Membership, Team
from webhooks.models import Delivery, Endpoint


def endpoint_list(*, user) -> QuerySet[Endpoint]:
    """The user's own endpoints and those of teams they own (only owners manage a team's)."""
    owned_teams = Membership.objects.filter(user=user, role=Membership.Role.OWNER).values("team_id")
    return (
        Endpoint.objects.filter(Q(owner=user) | Q(team_id__in=owned_teams))
        .select_related("team")
        .order_by("-created_at", "-id")
    )


def endpoint_get(*, user, endpoint_id: int) -> Endpoint:
    """An endpoint the user manages; 404 for anyone else's, so ids reveal nothing."""
    return get_object_or_404(endpoint_list(user=user), id=endpoint_id)


def team_owned_list(*, user) -> QuerySet[Team]:
    return Team.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.OWNER
    ).order_by("name", "id")


def delivery_log(*, endpoint: Endpoint, limit: int = 50) -> list[Delivery]:
    return list(endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at")[:limit])
