"""What a team-bound token and a staff member's token may see and do."""

import json

from api.models import JobOrigin
from gallery.models import Image
from moderation.services import image_hide
from teams.models import Membership, Team
from tests.api.conftest import token_client


def _json(client, method, path, body):
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def test_a_team_token_sees_the_team_library_only(alices, alice):
    client = token_client(alice, team=alices.team)
    listed = client.get("/api/images").json()["images"]
    assert [image["id"] for image in listed] == [alices.shared.id]
    assert client.get(f"/api/images/{alices.shared.id}").status_code == 200
    # Alice's private image, collection and job are not the team's.
    assert client.get(f"/api/images/{alices.image.id}").status_code == 404
    assert client.get(f"/api/collections/{alices.collection.id}").status_code == 404
    assert client.get(f"/api/jobs/{alices.job.id}").status_code == 404
    assert client.get("/api/collections").json() == []
    assert [t["id"] for t in client.get("/api/teams").json()] == [alices.team.id]


def test_a_team_token_acts_for_its_team_only(alices, alice):
    other = Team.objects.create(name="Elsewhere")
    Membership.objects.create(team=other, user=alice, role=Membership.Role.OWNER)
    client = token_client(alice, team=alices.team)
    assert client.get(f"/api/teams/{other.id}/images").status_code == 404
    made = _json(client, "post", "/api/collections", {"name": "Boards"})
    assert made.status_code == 201
    assert made.json()["team_id"] == alices.team.id
    refused = _json(client, "post", "/api/collections", {"name": "Else", "team_id": other.id})
    assert refused.status_code == 404


def test_jobs_made_through_a_team_token_are_the_teams(alices, alice, fake_provider):
    team_client = token_client(alice, team=alices.team)
    made = _json(team_client, "post", "/api/jobs/generate", {"model": "dall-e-2", "prompt": "x"})
    assert made.status_code == 201
    job_id = made.json()["id"]
    assert JobOrigin.objects.get(job_id=job_id).team == alices.team
    assert [job["id"] for job in team_client.get("/api/jobs").json()["jobs"]] == [job_id]
    # Alice's own token sees all her jobs, this one included.
    mine = token_client(alice).get("/api/jobs").json()["jobs"]
    assert job_id in [job["id"] for job in mine] and len(mine) == 4


def test_a_team_viewer_may_read_but_not_change_the_library(alices, bob):
    Membership.objects.filter(user=bob).update(role=Membership.Role.VIEWER)
    client = token_client(bob)
    assert client.get(f"/api/images/{alices.shared.id}").status_code == 200
    assert client.get(f"/api/teams/{alices.team.id}/images").json()["images"][0]["id"] == (
        alices.shared.id
    )
    tagged = _json(client, "post", f"/api/images/{alices.shared.id}/tags", {"tags": "mine"})
    assert tagged.status_code == 403
    assert client.delete(f"/api/images/{alices.shared.id}").status_code == 403
    assert Image.objects.filter(id=alices.shared.id, tag_text="").exists()


def test_staff_tokens_see_what_moderation_sees_and_change_nothing(alices, staff):
    image_hide(actor=staff, image=alices.image, reason="spam")
    client = token_client(staff)
    # Every image, hidden ones too, as on the moderation pages.
    assert client.get(f"/api/images/{alices.image.id}").status_code == 200
    everything = client.get("/api/images", {"everything": "true"}).json()["images"]
    assert {alices.image.id, alices.shared.id} <= {image["id"] for image in everything}
    # Their own gallery is their own; jobs and collections stay their owners'.
    assert client.get("/api/images").json()["images"] == []
    assert client.get(f"/api/jobs/{alices.job.id}").status_code == 404
    assert client.get(f"/api/collections/{alices.collection.id}").status_code == 404
    # Seeing is not owning: no tagging or deleting through the API.
    assert client.delete(f"/api/images/{alices.image.id}").status_code == 403
    assert (
        _json(client, "post", f"/api/images/{alices.image.id}/tags", {"tags": "x"}).status_code
        == 403
    )
    assert Image.objects.filter(id=alices.image.id).exists()


def test_everything_is_for_staff_only(alices, alice):
    response = token_client(alice).get("/api/images", {"everything": "true"})
    assert response.status_code == 403


def test_a_hidden_image_vanishes_for_its_owner_too(alices, alice, staff):
    image_hide(actor=staff, image=alices.image, reason="spam")
    client = token_client(alice)
    assert client.get(f"/api/images/{alices.image.id}").status_code == 404
    job = client.get(f"/api/jobs/{alices.job.id}").json()
    assert job["images"] == []


def test_a_team_token_sees_the_images_of_the_jobs_it_made(alices, alice, fake_provider, s3):
    from gallery.services import image_store
    from jobs.models import GenerationJob
    from tests.api.conftest import png

    client = token_client(alice, team=alices.team)
    made = _json(client, "post", "/api/jobs/generate", {"model": "dall-e-2", "prompt": "a mill"})
    job = GenerationJob.objects.get(id=made.json()["id"])
    image = image_store(job=job, index=0, data=png(256, 256))
    assert client.get(f"/api/images/{image.id}").status_code == 200
    assert [i["id"] for i in client.get(f"/api/jobs/{job.id}").json()["images"]] == [image.id]
    # Another of the team's members sees it only once shared.
    assert (
        token_client(alices.team.memberships.exclude(user=alice).get().user)
        .get(f"/api/images/{image.id}")
        .status_code
        == 404
    )
    shared = _json(client, "post", f"/api/images/{image.id}/share", {"team_id": alices.team.id})
    assert shared.status_code == 200 and shared.json()["team_id"] == alices.team.id
