"""Collections: personal boards and team boards."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status

from api import schemas
from api.access import Caller, caller
from api.errors import FormInvalid
from api.models import Scope
from api.present import collection_out, page_out
from api.routes.images import ImageFilters, image_query
from gallery import selectors, services
from gallery.forms import CollectionForm
from gallery.models import Collection
from teams.selectors import team_get

router = Router(tags=["collections"])
REFUSALS = {400: schemas.Error, 403: schemas.Error, 404: schemas.Error, 429: schemas.Error}


def editable_collection(who: Caller, collection_id: schemas.Id) -> Collection:
    """404 for a collection the caller cannot see, 403 for one it sees but may not change."""
    collection = who.collection(collection_id)
    if not selectors.collection_editable(user=who.user).filter(id=collection.id).exists():
        raise PermissionDenied("Changing this collection needs the editor role in its team.")
    return collection


@router.get("", response={200: list[schemas.Collection], **REFUSALS})
def collection_list(request: HttpRequest):
    who = caller(request)
    who.require(Scope.READ)
    collections = who.collections().order_by("team__name", "name", "id")
    return [collection_out(c) for c in collections]


@router.post("", response={201: schemas.Collection, **REFUSALS})
def collection_create(request: HttpRequest, payload: schemas.CollectionIn):
    """A personal collection, or a team's (`team_id`, where you are an owner or editor). A
    team-bound token makes its team's collections only."""
    who = caller(request)
    who.require(Scope.LIBRARY)
    team_id = payload.team_id
    if who.team is not None:
        team_id = team_id or who.team.id
    team = team_get(user=who.user, team_id=team_id) if team_id else None
    if team is not None:
        who.may_use_team(team)
    elif who.team is not None:
        raise PermissionDenied("This token acts for one team only.")
    form = CollectionForm({"name": payload.name}, teams=[team] if team else [])
    if not form.is_valid():
        raise FormInvalid(form)
    try:
        collection = services.collection_create(
            user=who.user, name=form.cleaned_data["name"], team=team
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        # Not an owner or editor there: a team the caller sees but may not add to.
        raise PermissionDenied(error.messages[0]) from None
    return Status(201, collection_out(collection))


@router.get("/{collection_id}", response={200: schemas.Collection, **REFUSALS})
def collection_get(request: HttpRequest, collection_id: schemas.Id):
    who = caller(request)
    who.require(Scope.READ)
    return collection_out(who.collection(collection_id))


@router.patch("/{collection_id}", response={200: schemas.Collection, **REFUSALS})
def collection_rename(
    request: HttpRequest, collection_id: schemas.Id, payload: schemas.CollectionRenameIn
):
    who = caller(request)
    who.require(Scope.LIBRARY)
    collection = editable_collection(who, collection_id)
    services.collection_rename(collection=collection, name=payload.name)
    return collection_out(collection)


@router.delete("/{collection_id}", response={204: None, **REFUSALS})
def collection_delete(request: HttpRequest, collection_id: schemas.Id):
    """Deletes the collection; its images are kept."""
    who = caller(request)
    who.require(Scope.LIBRARY)
    services.collection_delete(collection=editable_collection(who, collection_id))
    return Status(204, None)


@router.get("/{collection_id}/images", response={200: schemas.ImagePage, **REFUSALS})
def collection_images(
    request: HttpRequest, collection_id: schemas.Id, filters: Query[ImageFilters]
):
    who = caller(request)
    who.require(Scope.READ)
    collection = who.collection(collection_id)
    query = image_query(who, filters)
    return page_out(selectors.image_search(user=who.user, query=query, collection=collection))


@router.post("/{collection_id}/images", response={200: schemas.Done, **REFUSALS})
def collection_add(request: HttpRequest, collection_id: schemas.Id, payload: schemas.ImageIdsIn):
    """Adds images you can see; all or nothing."""
    who = caller(request)
    who.require(Scope.LIBRARY)
    collection = editable_collection(who, collection_id)
    ids = set(payload.image_ids)
    if not ids or any(not 1 <= i <= selectors.ID_MAX for i in ids):
        raise ValidationError({"image_ids": ["Give the ids of one or more images."]})
    images = list(who.images().filter(id__in=ids))
    if len(images) != len(ids):
        raise Http404("Some images are not available.")
    try:
        services.collection_add(user=who.user, collection=collection, images=images)
    except ValidationError as error:
        raise PermissionDenied(error.messages[0]) from None
    return {"done": True}


@router.delete("/{collection_id}/images/{image_id}", response={200: schemas.Done, **REFUSALS})
def collection_remove(request: HttpRequest, collection_id: schemas.Id, image_id: schemas.Id):
    who = caller(request)
    who.require(Scope.LIBRARY)
    collection = editable_collection(who, collection_id)
    image = who.image(image_id)
    services.collection_remove(collection=collection, images=[image])
    return {"done": True}
