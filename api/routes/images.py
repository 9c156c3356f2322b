"""The gallery: search, one image with short-lived links, tags, collect, favourite, delete."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from api import schemas
from api.access import Caller, caller
from api.errors import FormInvalid
from api.models import Scope
from api.present import image_detail_out, page_out
from gallery import selectors, services
from gallery.forms import SearchForm, TagForm
from moderation.permissions import sees_every_image
from teams.selectors import team_get

router = Router(tags=["images"])
REFUSALS = {400: schemas.Error, 403: schemas.Error, 404: schemas.Error, 429: schemas.Error}


class ImageFilters(Schema):
    """The gallery's search box and filters; `cursor` is the previous page's `next_cursor`."""

    q: str = ""
    model: str = ""
    size: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    owner: str = ""
    tag: str = ""
    collection: schemas.Id | None = None
    favourite: bool = False
    sort: str = "newest"
    cursor: str = ""


def image_query(who: Caller, filters: ImageFilters, *, everything: bool = False):
    """The gallery's SearchForm, strict: an invalid filter is a 400 here, not ignored."""
    data = {k: v for k, v in filters.dict().items() if v not in (None, "", False)}
    models = selectors.image_model_names(user=who.user, everything=everything)
    form = SearchForm(data, models=models)
    if not form.is_valid():
        raise FormInvalid(form)
    return form.image_query()


def _deny_unless(allowed: bool, message: str) -> None:
    # What the caller can see but not change; what it cannot see is a 404 already.
    if not allowed:
        raise PermissionDenied(message)


@router.get("", response={200: schemas.ImagePage, **REFUSALS})
def image_list(request: HttpRequest, filters: Query[ImageFilters], everything: bool = False):
    """Your images, searched and filtered as in the gallery. A team-bound token lists its
    team's library; staff may set `everything` to search every image, as in moderation."""
    who = caller(request)
    who.require(Scope.READ)
    if everything and not sees_every_image(who.user):
        raise PermissionDenied("Only staff search every image.")
    everything = everything and who.team is None
    query = image_query(who, filters, everything=everything)
    page = selectors.image_search(user=who.user, query=query, team=who.team, everything=everything)
    return page_out(page)


@router.get("/{image_id}", response={200: schemas.ImageDetail, **REFUSALS})
def image_get(request: HttpRequest, image_id: schemas.Id):
    """One image, with links to its files that expire after `links.expires_in` seconds."""
    who = caller(request)
    who.require(Scope.READ)
    return image_detail_out(user=who.user, image=who.image(image_id))


@router.patch("/{image_id}", response={200: schemas.ImageDetail, **REFUSALS})
def image_update(request: HttpRequest, image_id: schemas.Id, payload: schemas.ImageUpdateIn):
    who = caller(request)
    who.require(Scope.LIBRARY)
    image = who.image(image_id)
    can = selectors.image_permissions(user=who.user, image=image)
    _deny_unless(can.can_edit, "Only the image's owner can change its title and notes.")
    services.image_update(
        image=image,
        title=image.title if payload.title is None else payload.title[:200],
        notes=image.notes if payload.notes is None else payload.notes,
    )
    return image_detail_out(user=who.user, image=who.image(image_id))


@router.delete("/{image_id}", response={204: None, **REFUSALS})
def image_delete(request: HttpRequest, image_id: schemas.Id):
    who = caller(request)
    who.require(Scope.LIBRARY)
    image = who.image(image_id)
    can = selectors.image_permissions(user=who.user, image=image)
    _deny_unless(can.is_owner, "Only the image's owner can delete it.")
    services.image_delete(images=[image])
    return Status(204, None)


@router.post("/{image_id}/tags", response={200: schemas.ImageDetail, **REFUSALS})
def image_tags_add(request: HttpRequest, image_id: schemas.Id, payload: schemas.TagsIn):
    """Adds comma-separated tags."""
    who = caller(request)
    who.require(Scope.LIBRARY)
    image = who.image(image_id)
    can = selectors.image_permissions(user=who.user, image=image)
    _deny_unless(can.can_tag, "Tagging needs your own image or the editor role in its team.")
    form = TagForm({"tags": payload.tags})
    if not form.is_valid():
        raise FormInvalid(form)
    services.image_tags_add(images=[image], names=form.cleaned_data["tags"])
    return image_detail_out(user=who.user, image=who.image(image_id))


@router.delete("/{image_id}/tags/{name}", response={200: schemas.ImageDetail, **REFUSALS})
def image_tag_remove(request: HttpRequest, image_id: schemas.Id, name: str):
    who = caller(request)
    who.require(Scope.LIBRARY)
    image = who.image(image_id)
    can = selectors.image_permissions(user=who.user, image=image)
    _deny_unless(can.can_tag, "Tagging needs your own image or the editor role in its team.")
    services.image_tag_remove(image=image, name=name)
    return image_detail_out(user=who.user, image=who.image(image_id))


def _favourite_set(request: HttpRequest, image_id: schemas.Id, wanted: bool) -> dict:
    who = caller(request)
    who.require(Scope.LIBRARY)
    image = who.image(image_id)
    now = selectors.image_detail_extras(user=who.user, image=image)["is_favourite"]
    if now != wanted:
        now = services.image_favourite_toggle(user=who.user, image=image)
    return {"is_favourite": now}


@router.put("/{image_id}/favourite", response={200: schemas.Favourite, **REFUSALS})
def image_favourite(request: HttpRequest, image_id: schemas.Id):
    return _favourite_set(request, image_id, True)


@router.delete("/{image_id}/favourite", response={200: schemas.Favourite, **REFUSALS})
def image_unfavourite(request: HttpRequest, image_id: schemas.Id):
    return _favourite_set(request, image_id, False)


@router.post("/{image_id}/collect", response={200: schemas.ImageDetail, **REFUSALS})
def image_collect(request: HttpRequest, image_id: schemas.Id, payload: schemas.CollectIn):
    """Adds the image to a collection you may change (a team collection shares your own
    image with the team as it is added)."""
    from api.routes.collections import editable_collection

    who = caller(request)
    who.require(Scope.LIBRARY)
    image = who.image(image_id)
    collection = editable_collection(who, payload.collection_id)
    try:
        services.collection_add(user=who.user, collection=collection, images=[image])
    except ValidationError as error:
        raise PermissionDenied(error.messages[0]) from None
    return image_detail_out(user=who.user, image=who.image(image_id))


@router.post("/{image_id}/share", response={200: schemas.ImageDetail, **REFUSALS})
def image_share(request: HttpRequest, image_id: schemas.Id, payload: schemas.ShareIn):
    """Puts your own image in a team library where you are an owner or editor."""
    who = caller(request)
    who.require(Scope.LIBRARY)
    image = who.image(image_id)
    can = selectors.image_permissions(user=who.user, image=image)
    _deny_unless(can.is_owner, "Only the image's owner can share it.")
    team = team_get(user=who.user, team_id=payload.team_id)
    who.may_use_team(team)
    try:
        services.image_share(user=who.user, images=[image], team=team)
    except ValidationError as error:
        raise PermissionDenied(error.messages[0]) from None
    return image_detail_out(user=who.user, image=who.image(image_id))
