"""Teams: creating one, and who may manage its members."""

import pytest
from django.urls import reverse

from teams.models import Membership, Team


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


def test_the_owner_adds_a_member_and_changes_a_role(client, alice, bob, charlie, team):
    client.force_login(alice)
    url = reverse("teams:detail", args=[team.id])
    client.post(url, {"username": "charlie", "role": "editor"})
    client.post(url, {"username": "bob", "role": "editor"})
    roles = dict(Membership.objects.filter(team=team).values_list("user__username", "role"))
    assert roles == {"alice": "owner", "bob": "editor", "charlie": "editor"}


def test_it_refuses_an_unknown_username(client, alice, team):
    client.force_login(alice)
    response = client.post(
        reverse("teams:detail", args=[team.id]), {"username": "nobody", "role": "viewer"}
    )
    assert response.status_code == 400
    assert b"There is no user called" in response.content


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_manage_members(client, bob, charlie, team, role):
    Membership.objects.filter(team=team, user=bob).update(role=role)
    client.force_login(bob)
    url = reverse("teams:detail", args=[team.id])
    response = client.post(url, {"username": "charlie", "role": "owner"})
    assert response.status_code == 400
    assert not Membership.objects.filter(team=team, user=charlie).exists()
    client.post(reverse("teams:member_remove", args=[team.id, team.memberships.first().user_id]))
    assert Membership.objects.filter(team=team).count() == 2


def test_an_owner_cannot_remove_or_demote_themselves(client, alice, team):
    client.force_login(alice)
    client.post(reverse("teams:member_remove", args=[team.id, alice.id]))
    client.post(reverse("teams:detail", args=[team.id]), {"username": "alice", "role": "viewer"})
    assert Membership.objects.get(team=team, user=alice).role == Membership.Role.OWNER


def test_charlie_gets_404_for_a_team_he_is_not_in(client, charlie, team):
    client.force_login(charlie)
    assert client.get(reverse("teams:detail", args=[team.id])).status_code == 404
    remove = reverse("teams:member_remove", args=[team.id, charlie.id])
    assert client.post(remove).status_code == 404
