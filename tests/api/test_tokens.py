import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from api.auth import token_authenticate, token_has_scope
from api.models import AccessToken
from api.services import TokenError, token_create, token_record_use, token_revoke
from moderation.models import AuditEntry
from moderation.services import user_suspend
from teams.models import Membership, Team
from tests.factories import UserFactory


def test_it_stores_only_the_hash_and_shows_the_secret_once(alice):
    token, raw = token_create(user=alice, name="laptop", scopes=["read", "generate"])
    assert raw.startswith("atl_") and len(raw) > 40
    stored = AccessToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert stored.prefix == raw[:8]
    row = AccessToken.objects.filter(pk=token.pk).values().get()
    assert all(raw not in str(value) for value in row.values())
    assert token_authenticate(raw) == token


def test_it_keeps_scopes_in_catalogue_order_and_refuses_unknown_ones(alice):
    token, _ = token_create(user=alice, name="a", scopes=["library", "read"])
    assert token.scopes == ["read", "library"]
    with pytest.raises(TokenError):
        token_create(user=alice, name="b", scopes=["admin"])
    with pytest.raises(TokenError):
        token_create(user=alice, name="c", scopes=[])
    assert token_has_scope(token, "read") and not token_has_scope(token, "generate")


def test_a_revoked_token_does_not_authenticate(alice):
    token, raw = token_create(user=alice, name="laptop", scopes=["read"])
    assert token_revoke(token=token, by=alice)
    assert token_authenticate(raw) is None
    assert token.revoked_by == alice
    assert not token_revoke(token=token, by=alice)
    # A revoke by the owner is not a moderation action.
    assert not AuditEntry.objects.filter(action="token_revoke").exists()


def test_a_staff_revoke_is_audited(alice):
    staff = UserFactory(username="mod", is_staff=True)
    token, _ = token_create(user=alice, name="laptop", scopes=["read"])
    token_revoke(token=token, by=staff, reason="leaked")
    entry = AuditEntry.objects.get(action="token_revoke")
    assert entry.actor == staff and entry.target_id == str(token.pk) and entry.reason == "leaked"


def test_unknown_garbled_inactive_and_suspended_do_not_authenticate(alice):
    token, raw = token_create(user=alice, name="laptop", scopes=["read"])
    assert token_authenticate("atl_" + "x" * 43) is None
    assert token_authenticate("") is None
    assert token_authenticate(raw[:-1]) is None
    user_suspend(actor=None, user=alice, reason="spam")
    assert token_authenticate(raw) is None
    alice.suspensions.update(lifted_at=timezone.now())
    assert token_authenticate(raw) == token
    alice.is_active = False
    alice.save()
    assert token_authenticate(raw) is None


def test_a_team_token_needs_membership(alice, bob):
    team = Team.objects.create(name="Studio")
    with pytest.raises(TokenError):
        token_create(user=alice, name="t", scopes=["read"], team=team)
    Membership.objects.create(team=team, user=alice, role=Membership.Role.EDITOR)
    token, raw = token_create(user=alice, name="t", scopes=["read"], team=team)
    assert token_authenticate(raw) == token
    Membership.objects.filter(team=team, user=alice).delete()
    assert token_authenticate(raw) is None


def test_use_is_recorded_at_most_once_a_minute_per_address(alice):
    token, raw = token_create(user=alice, name="laptop", scopes=["read"])
    assert token_authenticate(raw, ip="192.0.2.1") == token
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and token.last_used_ip == "192.0.2.1"
    assert not token_record_use(token=token, ip="192.0.2.1")
    assert token_record_use(token=token, ip="192.0.2.2")
    token.refresh_from_db()
    assert token.last_used_ip == "192.0.2.2"
    AccessToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert token_record_use(token=token, ip="192.0.2.2")
    token.refresh_from_db()
    assert token.last_used_at > first
