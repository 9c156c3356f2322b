"""Teams: creating one, invitations that need consent, leaving, and who manages members."""

import re

import pytest
from django.urls import reverse

from teams.models import Invitation, Membership, Team


def roles(team) -> dict[str, str]:
    return dict(Membership.objects.filter(team=team).values_list("user__username", "role"))


def test_it_makes_the_creator_the_owner(client, alice):
    client.force_login(alice)
    response = client.post(reverse("teams:list"), {"name": "Studio North"})
    team = Team.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "teams:detail", args=[team.id]
    )
    assert Membership.objects.get(team=team).role == Membership.Role.OWNER


def test_it_lists_only_the_users_teams(client, alice, bob, team):
    Team.objects.create(name="Elsewhere")
    client.force_login(bob)
    assert [t.name for t in client.get(reverse("teams:list")).context["teams"]] == ["Studio North"]


# -- invitations -------------------------------------------------------------------


def test_inviting_charlie_does_not_make_him_a_member(client, alice, charlie, team):
    client.force_login(alice)
    client.post(reverse("teams:detail", args=[team.id]), {"username": "charlie", "role": "editor"})
    assert "charlie" not in roles(team)
    invitation = Invitation.objects.get(team=team)
    assert (invitation.username, invitation.role, invitation.invited_by) == (
        "charlie",
        "editor",
        alice,
    )
    # Until he accepts, the team and its library stay closed to him.
    client.force_login(charlie)
    assert client.get(reverse("teams:detail", args=[team.id])).status_code == 404
    assert client.get(reverse("gallery:team_library", args=[team.id])).status_code == 404


def test_charlie_sees_his_invitation_and_accepts_it(client, alice, charlie, team):
    Invitation.objects.create(team=team, username="charlie", role="editor", invited_by=alice)
    client.force_login(charlie)
    page = client.get(reverse("teams:list"))
    [invitation] = page.context["invitations"]
    assert "Studio North" in page.content.decode() and "Accept" in page.content.decode()
    response = client.post(reverse("teams:invitation_accept", args=[invitation.id]))
    assert response["Location"] == reverse("teams:detail", args=[team.id])
    assert roles(team)["charlie"] == "editor"
    assert not Invitation.objects.exists()


def test_charlie_declines_and_stays_out(client, alice, charlie, team):
    invitation = Invitation.objects.create(team=team, username="charlie", invited_by=alice)
    client.force_login(charlie)
    client.post(reverse("teams:invitation_decline", args=[invitation.id]))
    assert "charlie" not in roles(team)
    assert not Invitation.objects.exists()


def test_nobody_answers_an_invitation_addressed_to_someone_else(client, alice, bob, team):
    invitation = Invitation.objects.create(team=team, username="charlie", invited_by=alice)
    client.force_login(bob)
    for name in ("teams:invitation_accept", "teams:invitation_decline"):
        assert client.post(reverse(name, args=[invitation.id])).status_code == 404
    assert Invitation.objects.filter(id=invitation.id).exists()
    assert client.get(reverse("teams:list")).context["invitations"].count() == 0


def test_the_answer_is_the_same_whether_or_not_the_name_exists(client, alice, charlie, team):
    """No user enumeration: an owner cannot tell "charlie" (an account) from "nobody"."""
    client.force_login(alice)
    url = reverse("teams:detail", args=[team.id])
    answers, invited = [], []
    for name in ("charlie", "nobody"):
        response = client.post(url, {"username": name, "role": "viewer"}, follow=True)
        assert response.status_code == 200
        main = response.content.decode().split("<main>")[1]
        main = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", main)
        answers.append(re.sub(r"invitations/\d+/", "invitations/ID/", main))
        invited += Invitation.objects.values_list("username", flat=True)
        Invitation.objects.all().delete()
    assert answers[0].replace("charlie", "NAME") == answers[1].replace("nobody", "NAME")
    assert "There is no user" not in answers[1]
    assert invited == ["charlie", "nobody"]


def test_an_invitation_to_a_name_waits_for_the_account_with_that_name(client, alice, team):
    from tests.factories import UserFactory

    Invitation.objects.create(team=team, username="dana", invited_by=alice)
    dana = UserFactory(username="dana")
    client.force_login(dana)
    assert [i.team for i in client.get(reverse("teams:list")).context["invitations"]] == [team]


def test_the_owner_changes_a_members_role_directly(client, alice, bob, team):
    client.force_login(alice)
    client.post(reverse("teams:detail", args=[team.id]), {"username": "bob", "role": "editor"})
    assert roles(team) == {"alice": "owner", "bob": "editor"}
    assert not Invitation.objects.exists()


def test_the_owner_cancels_an_invitation(client, alice, team):
    invitation = Invitation.objects.create(team=team, username="charlie", invited_by=alice)
    client.force_login(alice)
    page = client.get(reverse("teams:detail", args=[team.id])).content.decode()
    assert "charlie" in page and "Cancel invitation" in page
    client.post(reverse("teams:invitation_cancel", args=[team.id, invitation.id]))
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_invite_or_manage_members(client, alice, bob, charlie, team, role):
    Membership.objects.filter(team=team, user=bob).update(role=role)
    invitation = Invitation.objects.create(team=team, username="dana", invited_by=alice)
    client.force_login(bob)
    url = reverse("teams:detail", args=[team.id])
    response = client.post(url, {"username": "charlie", "role": "owner"})
    assert response.status_code == 400
    assert not Invitation.objects.filter(username="charlie").exists()
    client.post(reverse("teams:member_remove", args=[team.id, alice.id]))
    client.post(reverse("teams:invitation_cancel", args=[team.id, invitation.id]))
    assert roles(team)["alice"] == "owner"
    assert Invitation.objects.filter(id=invitation.id).exists()


def test_an_owner_cannot_remove_or_demote_themselves(client, alice, team):
    client.force_login(alice)
    client.post(reverse("teams:member_remove", args=[team.id, alice.id]))
    client.post(reverse("teams:detail", args=[team.id]), {"username": "alice", "role": "viewer"})
    assert Membership.objects.get(team=team, user=alice).role == Membership.Role.OWNER


# -- removing and leaving ------------------------------------------------------------


def test_removing_a_member_asks_for_confirmation_first(client, alice, bob, team):
    client.force_login(alice)
    url = reverse("teams:member_remove", args=[team.id, bob.id])
    page = client.get(url)
    assert page.status_code == 200
    assert "Remove bob from Studio North?" in page.content.decode()
    assert "bob" in roles(team)  # asking removed nobody
    client.post(url)
    assert "bob" not in roles(team)


def test_bob_leaves_the_team(client, bob, team):
    client.force_login(bob)
    url = reverse("teams:leave", args=[team.id])
    assert "Leave Studio North?" in client.get(url).content.decode()
    assert "bob" in roles(team)
    assert client.post(url)["Location"] == reverse("teams:list")
    assert "bob" not in roles(team)
    assert client.get(reverse("gallery:team_library", args=[team.id])).status_code == 404


def test_the_only_owner_cannot_leave_until_another_owner_exists(client, alice, bob, team):
    client.force_login(alice)
    url = reverse("teams:leave", args=[team.id])
    response = client.post(url, follow=True)
    assert "only owner" in response.content.decode()
    assert roles(team)["alice"] == "owner"
    Membership.objects.filter(team=team, user=bob).update(role="owner")
    client.post(url)
    assert roles(team) == {"bob": "owner"}


def test_charlie_gets_404_for_a_team_he_is_not_in(client, charlie, team):
    client.force_login(charlie)
    assert client.get(reverse("teams:detail", args=[team.id])).status_code == 404
    assert client.post(reverse("teams:leave", args=[team.id])).status_code == 404
    remove = reverse("teams:member_remove", args=[team.id, charlie.id])
    assert client.get(remove).status_code == 404
    assert client.post(remove).status_code == 404
    invitation = Invitation.objects.create(team=team, username="zed")
    cancel = reverse("teams:invitation_cancel", args=[team.id, invitation.id])
    assert client.post(cancel).status_code == 404
