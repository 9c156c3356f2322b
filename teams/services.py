from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from teams.models import Membership, Team


@transaction.atomic
def team_create(*, user, name: str) -> Team:
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return team


def membership_set(*, actor, team: Team, username: str, role: str) -> Membership:
    """Adds a member or changes their role; only the team's owners manage members."""
    if not Membership.objects.filter(team=team, user=actor, role=Membership.Role.OWNER).exists():
        raise ValidationError("Only the team's owners can manage members.")
    try:
        user = get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise ValidationError(f"There is no user called “{username}”.") from None
    if user == actor and role != Membership.Role.OWNER:
        raise ValidationError("Owners cannot demote themselves; ask another owner.")
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


def membership_remove(*, actor, team: Team, user_id: int) -> None:
    if not Membership.objects.filter(team=team, user=actor, role=Membership.Role.OWNER).exists():
        raise ValidationError("Only the team's owners can manage members.")
    if user_id == actor.id:
        raise ValidationError("Owners cannot remove themselves; ask another owner.")
    Membership.objects.filter(team=team, user_id=user_id).delete()
