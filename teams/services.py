"""Writing side of teams: creating one, invitations, roles, leaving and removing.

Nobody joins a team without accepting an invitation, and an owner's answers never
say whether a username exists.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from teams.models import Invitation, Membership, Team

OWNERS_ONLY = _("Only the team's owners can manage members.")


@transaction.atomic
def team_create(*, user, name: str) -> Team:
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return team


def _require_owner(*, actor, team: Team) -> None:
    if not Membership.objects.filter(team=team, user=actor, role=Membership.Role.OWNER).exists():
        raise ValidationError(OWNERS_ONLY)


def membership_set(*, actor, team: Team, username: str, role: str) -> str:
    """Changes a member's role, or invites a username that is not a member yet.

    Returns what to tell the owner. For anyone not in the team the answer is the
    same whether or not an account has that name: an invitation addressed to the name.
    """
    _require_owner(actor=actor, team=team)
    username = username.strip()
    membership = Membership.objects.filter(team=team, user__username=username).first()
    if membership is not None:
        if membership.user_id == actor.id and role != Membership.Role.OWNER:
            raise ValidationError(_("Owners cannot demote themselves; ask another owner."))
        Membership.objects.filter(id=membership.id).update(role=role)
        return gettext("%(username)s is now %(role)s.") % {
            "username": username,
            "role": Membership.Role(role).label.lower(),
        }
    Invitation.objects.update_or_create(
        team=team, username=username, defaults={"role": role, "invited_by": actor}
    )
    return gettext(
        "Invitation to “%(username)s” saved as %(role)s. "
        "If an account has that name, they see it on their Teams page and can accept or decline."
    ) % {"username": username, "role": Membership.Role(role).label.lower()}


def invitation_cancel(*, actor, team: Team, invitation_id: int) -> None:
    _require_owner(actor=actor, team=team)
    Invitation.objects.filter(team=team, id=invitation_id).delete()


@transaction.atomic
def invitation_accept(*, user, invitation: Invitation) -> Membership:
    """The invitee joins with the invited role; the invitation is used up."""
    membership, _ = Membership.objects.get_or_create(
        team_id=invitation.team_id, user=user, defaults={"role": invitation.role}
    )
    Invitation.objects.filter(id=invitation.id).delete()
    return membership


def invitation_decline(*, user, invitation: Invitation) -> None:
    Invitation.objects.filter(id=invitation.id, username=user.get_username()).delete()


def _last_owner(*, team: Team, user_id: int) -> bool:
    owners = Membership.objects.filter(team=team, role=Membership.Role.OWNER)
    return owners.filter(user_id=user_id).exists() and owners.count() == 1


@transaction.atomic
def membership_leave(*, user, team: Team) -> None:
    """A member leaves; the team's only owner must hand the team over first."""
    Team.objects.select_for_update().filter(id=team.id).exists()
    if _last_owner(team=team, user_id=user.id):
        raise ValidationError(
            _("You are this team's only owner: make another member an owner before you leave.")
        )
    Membership.objects.filter(team=team, user=user).delete()


def membership_remove(*, actor, team: Team, user_id: int) -> None:
    _require_owner(actor=actor, team=team)
    if user_id == actor.id:
        raise ValidationError(_("Owners cannot remove themselves; use Leave the team."))
    Membership.objects.filter(team=team, user_id=user_id).delete()
