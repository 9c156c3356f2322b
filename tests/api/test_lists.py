"""Lists cost the same number of queries however long they are."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import finished_job, token_client


def _make_images(owner, count):
    from gallery.models import Image

    for n in range(count):
        job = finished_job(owner, f"a lighthouse number {n}")
        Image.objects.create(
            owner=owner,
            job=job,
            index=0,
            original_key=f"originals/{job.id}/0.png",
            thumbnail_key=f"thumbnails/{job.id}/0.webp",
            width=64,
            height=64,
            format="PNG",
            bytes=100,
            sha256=f"{n:064x}",
            prompt=job.prompt,
        )


def _queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.content
    return len(captured)


def test_image_and_job_lists_do_not_grow_a_query_per_row(alice, s3):
    client = token_client(alice)
    _make_images(alice, 2)
    few = (_queries(client, "/api/images"), _queries(client, "/api/jobs"))
    _make_images(alice, 8)
    many = (_queries(client, "/api/images"), _queries(client, "/api/jobs"))
    assert few == many
    listed = client.get("/api/images").json()["images"]
    assert len(listed) == 10
    assert all(image["links"]["original"] for image in listed)


def test_job_pages_continue_from_the_cursor(alice):
    client = token_client(alice)
    for n in range(5):
        finished_job(alice, f"job {n}")
    first = client.get("/api/jobs", {"limit": 3}).json()
    assert len(first["jobs"]) == 3 and first["next_cursor"]
    rest = client.get("/api/jobs", {"limit": 3, "cursor": first["next_cursor"]}).json()
    assert len(rest["jobs"]) == 2 and rest["next_cursor"] is None
    ids = [job["id"] for job in first["jobs"] + rest["jobs"]]
    assert len(set(ids)) == 5


def test_a_garbled_job_cursor_is_a_400(alice):
    response = token_client(alice).get("/api/jobs", {"cursor": "bm9wZQ=="})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]
