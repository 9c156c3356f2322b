"""Every operation in the schema, against another person's objects and with a read-only
token: a stranger gets 404, a token without the scope gets 403, nothing changes."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.api import api
from gallery.models import Collection, Image
from jobs.models import GenerationJob
from tests.api.conftest import png, token_client


def _upload(name="image.png", **kwargs):
    return SimpleUploadedFile(name, png(**kwargs), content_type="image/png")


def requests_for(things) -> dict[tuple[str, str], dict]:
    """One valid request per operation, aimed at Alice's things (fresh uploads each time)."""
    image, job, collection, team = (
        things.image.id,
        things.job.id,
        things.collection.id,
        things.team.id,
    )
    mask = lambda: SimpleUploadedFile(  # noqa: E731
        "mask.png", png(256, 256, colour=(0, 0, 0, 0), mode="RGBA"), content_type="image/png"
    )
    return {
        ("post", "/api/jobs/generate"): {"json": {"model": "dall-e-2", "prompt": "a boat"}},
        ("post", "/api/jobs/edit"): {
            "data": {"image_id": image, "model": "dall-e-2", "prompt": "a boat", "mask": mask()}
        },
        ("post", "/api/jobs/variations"): {"json": {"image_id": image}},
        ("post", "/api/jobs/blend"): {
            "data": {"model": "midjourney", "images": [_upload(), _upload(colour=(1, 2, 3))]}
        },
        ("post", "/api/jobs/describe"): {"data": {"model": "midjourney", "image_id": image}},
        ("post", "/api/jobs/swap-face"): {
            "data": {"model": "midjourney", "source": _upload(), "target": _upload()}
        },
        ("get", "/api/jobs"): {},
        ("get", f"/api/jobs/{job}"): {},
        ("post", f"/api/jobs/{job}/cancel"): {},
        ("post", f"/api/jobs/{job}/retry"): {},
        ("post", f"/api/jobs/{things.midjourney.id}/actions"): {
            "json": {"custom_id": "MJ::JOB::upsample::1::x"}
        },
        ("get", "/api/images"): {},
        ("get", f"/api/images/{image}"): {},
        ("patch", f"/api/images/{image}"): {"json": {"title": "Mine now"}},
        ("post", f"/api/images/{image}/tags"): {"json": {"tags": "sea, fog"}},
        ("delete", f"/api/images/{image}/tags/sea"): {},
        ("put", f"/api/images/{image}/favourite"): {},
        ("delete", f"/api/images/{image}/favourite"): {},
        ("post", f"/api/images/{image}/collect"): {"json": {"collection_id": collection}},
        ("post", f"/api/images/{image}/share"): {"json": {"team_id": team}},
        ("get", "/api/collections"): {},
        ("post", "/api/collections"): {"json": {"name": "Theirs", "team_id": team}},
        ("get", f"/api/collections/{collection}"): {},
        ("patch", f"/api/collections/{collection}"): {"json": {"name": "Renamed"}},
        ("get", f"/api/collections/{collection}/images"): {},
        ("post", f"/api/collections/{collection}/images"): {"json": {"image_ids": [image]}},
        ("delete", f"/api/collections/{collection}/images/{image}"): {},
        ("get", "/api/teams"): {},
        ("get", f"/api/teams/{team}/images"): {},
        # Last: what follows a delete would find nothing.
        ("delete", f"/api/collections/{collection}"): {},
        ("delete", f"/api/images/{image}"): {},
    }


def call(client, method: str, path: str, request: dict):
    if "json" in request:
        return getattr(client, method)(
            path, data=json.dumps(request["json"]), content_type="application/json"
        )
    if "data" in request:
        return client.post(path, data=request["data"])
    return getattr(client, method)(path)


def schema_operations() -> set[tuple[str, str]]:
    paths = api.get_openapi_schema()["paths"]
    return {(method, path) for path, item in paths.items() for method in item}


def _template(path: str) -> str:
    """/api/jobs/<uuid>/cancel → /api/jobs/{}/cancel, to match the schema's templates."""
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/{}", path)
    return re.sub(r"/(\d+|sea)(?=/|$)", "/{}", path)


def test_the_table_covers_every_operation_in_the_schema(alices):
    ours = {(method, _template(path)) for method, path in requests_for(alices)}
    schema = {(method, re.sub(r"\{\w+\}", "{}", path)) for method, path in schema_operations()}
    assert ours == schema


# Operations that name none of Alice's things: a stranger may use them on their own.
OWN_SCOPE = {
    ("post", "/api/jobs/generate"),
    ("post", "/api/jobs/blend"),
    ("post", "/api/jobs/swap-face"),
    ("get", "/api/jobs"),
    ("get", "/api/images"),
    ("get", "/api/collections"),
    ("get", "/api/teams"),
}


def _state():
    return (
        sorted(GenerationJob.objects.values_list("id", "status")),
        sorted(Image.objects.values_list("id", "title", "tag_text", "team_id")),
        sorted(Collection.objects.values_list("id", "name")),
        sorted(Image.objects.filter(collection_items__isnull=False).values_list("id")),
    )


@pytest.mark.usefixtures("fake_connections")
def test_charlie_gets_404_for_every_operation_on_alices_things(alices, charlie):
    client = token_client(charlie)
    before = _state()
    checked = 0
    for (method, path), request in requests_for(alices).items():
        if (method, path) in OWN_SCOPE:
            continue
        response = call(client, method, path, request)
        assert response.status_code == 404, (method, path, response.content)
        assert response.json() == {"detail": "Not found."}
        checked += 1
    assert checked == len(requests_for(alices)) - len(OWN_SCOPE)
    assert _state() == before


@pytest.mark.usefixtures("fake_connections")
def test_charlies_lists_do_not_hold_alices_things(alices, charlie):
    client = token_client(charlie)
    assert client.get("/api/jobs").json()["jobs"] == []
    assert client.get("/api/images").json()["images"] == []
    assert client.get("/api/images", {"q": "lighthouse"}).json()["images"] == []
    assert client.get("/api/collections").json() == []
    assert client.get("/api/teams").json() == []


@pytest.mark.usefixtures("fake_connections")
def test_a_read_only_token_gets_403_for_every_write_and_200_for_every_read(alices, alice):
    reader = token_client(alice, scopes=["read"])
    before = _state()
    writes = 0
    for (method, path), request in requests_for(alices).items():
        response = call(reader, method, path, request)
        if method == "get":
            assert response.status_code == 200, (path, response.content)
        else:
            assert response.status_code == 403, (method, path, response.content)
            assert "scope" in response.json()["detail"]
            writes += 1
    assert writes == 22
    assert _state() == before


@pytest.mark.usefixtures("fake_connections")
def test_a_token_with_every_scope_may_do_each_operation(alices, alice):
    """The same table with Alice's full token: nothing is refused for want of a scope
    (a 400 for a job the registry refuses is the services speaking, not the API)."""
    client = token_client(alice)
    outcomes = {}
    for (method, path), request in requests_for(alices).items():
        response = call(client, method, path, request)
        outcomes[(method, _template(path))] = response.status_code
        assert response.status_code < 500, (method, path, response.content)
        assert response.status_code not in (401, 403, 404), (method, path, response.content)
    assert outcomes[("post", "/api/jobs/generate")] == 201
    assert outcomes[("post", "/api/jobs/edit")] == 201
    assert outcomes[("post", "/api/jobs/variations")] == 201
    assert outcomes[("post", "/api/jobs/blend")] == 201
    assert outcomes[("post", "/api/jobs/describe")] == 201
    assert outcomes[("post", "/api/jobs/{}/actions")] == 201
    assert outcomes[("delete", "/api/images/{}")] == 204
