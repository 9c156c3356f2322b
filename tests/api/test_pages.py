"""The settings page for tokens and the staff page beside it."""

import hashlib
import re

from api.models import AccessToken
from api.services import token_create
from moderation.models import AuditEntry
from tests.api.conftest import TokenClient


def test_a_new_tokens_secret_is_shown_once_and_only_its_hash_is_kept(client, alice):
    client.force_login(alice)
    response = client.post("/settings/tokens/", {"name": "laptop", "scopes": ["read", "generate"]})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    [secret] = re.findall(r'<code id="token-secret">(atl_[\w-]+)</code>', response.content.decode())
    token = AccessToken.objects.get(user=alice)
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.scopes == ["read", "generate"]
    page = client.get("/settings/tokens/").content.decode()
    assert secret not in page
    assert token.prefix in page
    assert TokenClient(secret).get("/api/jobs").status_code == 200


def test_a_token_needs_a_scope_and_a_team_of_ones_own(client, alice, team, charlie):
    client.force_login(charlie)
    assert client.post("/settings/tokens/", {"name": "x", "scopes": []}).status_code == 400
    response = client.post("/settings/tokens/", {"name": "x", "scopes": ["read"], "team": team.id})
    assert response.status_code == 400
    assert not AccessToken.objects.exists()
    client.force_login(alice)
    response = client.post("/settings/tokens/", {"name": "x", "scopes": ["read"], "team": team.id})
    assert response.status_code == 201
    assert AccessToken.objects.get().team == team


def test_revoking_on_the_page_ends_the_token(client, alice):
    token, raw = token_create(user=alice, name="ci", scopes=["read"])
    client.force_login(alice)
    assert client.post(f"/settings/tokens/{token.id}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == alice
    assert TokenClient(raw).get("/api/jobs").status_code == 401


def test_charlie_gets_404_for_alices_token(client, alice, charlie):
    token, raw = token_create(user=alice, name="ci", scopes=["read"])
    client.force_login(charlie)
    assert client.post(f"/settings/tokens/{token.id}/revoke/").status_code == 404
    assert client.get("/settings/tokens/all/").status_code == 404
    assert client.post(f"/settings/tokens/all/{token.id}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_staff_see_every_token_and_their_revoke_is_audited(client, alice, staff):
    token, raw = token_create(user=alice, name="ci-runner", scopes=["read"])
    client.force_login(staff)
    page = client.get("/settings/tokens/all/").content.decode()
    assert "ci-runner" in page and token.prefix in page and raw not in page
    response = client.post(
        f"/settings/tokens/all/{token.id}/revoke/", {"reason": "leaked in a log"}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="token_revoke")
    assert (entry.actor, entry.target_id, entry.reason) == (staff, str(token.pk), "leaked in a log")
    assert TokenClient(raw).get("/api/jobs").status_code == 401


def test_staff_revoke_from_the_django_admin_is_audited(client, alice):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    token, _ = token_create(user=alice, name="ci", scopes=["read"])
    client.force_login(admin)
    response = client.post(
        "/admin/api/accesstoken/",
        {"action": "revoke", "_selected_action": [token.id]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == admin
    assert AuditEntry.objects.filter(action="token_revoke", actor=admin).count() == 1
