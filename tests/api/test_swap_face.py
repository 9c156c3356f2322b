"""POST /api/jobs/swap-face: a face swap by token (multipart `source` and `target`), under
the same rules as the studio's: off unless the connection allows it, uploads judged, and a
moderation event for every swap."""

from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import GenerationJob, ProviderConnection
from moderation.models import ModerationEvent
from tests.api.conftest import png

URL = "/api/jobs/swap-face"


def uploads(**overrides):
    files = {
        "source": SimpleUploadedFile("face.png", png(64, 64), "image/png"),
        "target": SimpleUploadedFile("crowd.png", png(96, 80, colour=(1, 2, 3)), "image/png"),
    }
    return {"model": "midjourney", **files, **overrides}


def test_it_creates_a_face_swap_job(alice, alice_api, s3, fake_connections):
    ProviderConnection.objects.filter(name="fake-mj").update(swap_face_enabled=True)
    response = alice_api.post(URL, data=uploads())
    assert response.status_code == 201, response.content
    body = response.json()
    job = GenerationJob.objects.get()
    assert (body["id"], body["kind"], body["model"]) == (str(job.id), "swap_face", "midjourney")
    assert job.kind == GenerationJob.Kind.SWAP_FACE and len(job.input_keys) == 2
    assert ModerationEvent.objects.filter(job=job, user=alice, code="swap_face").count() == 1


def test_it_says_face_swaps_are_off_for_the_connection(alice_api, s3, fake_connections):
    response = alice_api.post(URL, data=uploads())
    assert response.status_code == 400
    [message] = response.json()["errors"]["model"]
    assert message.startswith("Face swaps are off for this connection")
    assert not GenerationJob.objects.exists()


def test_a_hostile_source_is_refused_by_field(alice_api, s3, fake_connections):
    ProviderConnection.objects.filter(name="fake-mj").update(swap_face_enabled=True)
    svg = SimpleUploadedFile("face.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png")
    response = alice_api.post(URL, data=uploads(source=svg))
    assert response.status_code == 400
    assert response.json()["errors"]["source"][0].startswith("SVG and HTML files are not accepted")
    assert not GenerationJob.objects.exists() and not ModerationEvent.objects.exists()


def test_both_pictures_are_required(alice_api, s3, fake_connections):
    ProviderConnection.objects.filter(name="fake-mj").update(swap_face_enabled=True)
    data = uploads()
    del data["target"]
    response = alice_api.post(URL, data=data)
    assert response.status_code == 422
    assert "target" in response.json()["errors"]
    assert not GenerationJob.objects.exists()
