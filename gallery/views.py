from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from gallery import selectors, services
from gallery.archive import image_zip_stream
from gallery.forms import BulkForm, CollectionForm, ImageEditForm, SearchForm, TagForm
from gallery.models import Image
from gallery.storage import media_key_from_token
from jobs import selectors as job_selectors
from moderation.forms import ImageActionForm
from moderation.permissions import sees_every_image
from moderation.selectors import image_page_moderation
from teams.selectors import team_editable, team_get


def _deny_unless(allowed: bool) -> None:
    """For what the user can see but not change; what they cannot see is a 404 already."""
    if not allowed:
        raise PermissionDenied


def _back(request, fallback):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _listing(request, *, heading, team=None, collection=None, everything=False):
    models = selectors.image_model_names(user=request.user, everything=everything)
    form = SearchForm(request.GET, models=models)
    form.is_valid()
    query = form.image_query()
    page = selectors.image_search(
        user=request.user, query=query, team=team, collection=collection, everything=everything
    )
    next_url = None
    if page.next_cursor:
        params = request.GET.copy()
        params["cursor"] = page.next_cursor
        next_url = f"{request.path}?{params.urlencode()}"
    context = {
        "heading": heading,
        "form": form,
        "page": page,
        "tiles": selectors.image_tiles(images=page.images),
        "next_url": next_url,
        "team": team,
        "collection": collection,
        "search_syntax": selectors.search_syntax(),
    }
    editable = selectors.collection_editable(user=request.user)
    if request.htmx and query.cursor:
        # Later pages of a collection offer "Remove from collection" under each tile too.
        context["collection_tidy"] = (
            collection is not None and editable.filter(id=collection.id).exists()
        )
        return render(request, "gallery/partials/tiles.html", context)
    context["bulk_form"] = BulkForm()
    context["share_teams"] = list(team_editable(user=request.user))
    context["collections"] = list(editable.order_by("name"))
    context["collection_tidy"] = collection in context["collections"]
    context["bulk_actions"] = _offered_actions(context, everything=everything)
    return render(request, "gallery/gallery.html", context)


def _offered_actions(context, *, everything: bool) -> list[tuple[str, str]]:
    """The bulk actions this page offers: only those the user's role lets them apply here
    (the server checks each image again, see _bulk_images)."""
    Action = BulkForm.Action
    scope = context["team"] or (context["collection"] and context["collection"].team)
    if everything:
        offered = {Action.ZIP, Action.COLLECT}
    elif scope is None:  # the user's own images
        offered = {value for value, _ in BulkForm.ACTIONS}
    elif scope in context["share_teams"]:  # a team where the user edits
        offered = {Action.ZIP, Action.COLLECT, Action.TAG, Action.UNSHARE}
    else:  # a viewer
        offered = {Action.ZIP, Action.COLLECT}
    if not context["collections"]:
        offered.discard(Action.COLLECT)
    if not context["share_teams"]:
        offered.discard(Action.SHARE)
    return [(value, str(label)) for value, label in BulkForm.ACTIONS if value in offered]


@login_required
def gallery(request):
    return _listing(request, heading=gettext("Your gallery"))


@login_required
def everything(request):
    _deny_unless(sees_every_image(request.user))
    return _listing(request, heading=gettext("Every image"), everything=True)


@login_required
def team_library(request, team_id):
    team = team_get(user=request.user, team_id=team_id)
    return _listing(request, heading=gettext("%(team)s library") % {"team": team.name}, team=team)


@login_required
def collection_detail(request, collection_id):
    collection = selectors.collection_get(user=request.user, collection_id=collection_id)
    return _listing(request, heading=collection.name, collection=collection)


@login_required
def image_detail(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    context = {
        "image": image,
        "urls": selectors.image_urls(image),
        "can": selectors.image_permissions(user=request.user, image=image),
        "edit_form": ImageEditForm(initial={"title": image.title, "notes": image.notes}),
        "tag_form": TagForm(),
        "share_teams": team_editable(user=request.user),
        "add_collections": selectors.collection_editable(user=request.user).order_by("name"),
        "can_mask_edit": bool(job_selectors.edit_models()),
        "no_edit_model_reason": job_selectors.NO_EDIT_MODEL_REASON,
        **selectors.image_detail_extras(user=request.user, image=image),
        **image_page_moderation(user=request.user, image=image),
    }
    if context["staff_review"]:
        context["decision_form"] = ImageActionForm()
    return render(request, "gallery/image_detail.html", context)


@login_required
def image_file(request, image_id, variant):
    """Checks access, then redirects to a short-lived signed link to the stored object."""
    image = selectors.image_get(user=request.user, image_id=image_id)
    key = image.original_key if variant == "original" else image.thumbnail_key
    return redirect(default_storage.url(key))


@login_required
@require_POST
def image_edit(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    _deny_unless(selectors.image_permissions(user=request.user, image=image).can_edit)
    form = ImageEditForm(request.POST)
    if form.is_valid():
        services.image_update(image=image, **form.cleaned_data)
    return redirect("gallery:detail", image.id)


@login_required
@require_POST
def image_tags_add(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    _deny_unless(selectors.image_permissions(user=request.user, image=image).can_tag)
    form = TagForm(request.POST)
    if form.is_valid():
        services.image_tags_add(images=[image], names=form.cleaned_data["tags"])
    else:
        messages.error(request, " ".join(str(message) for message in form.errors["tags"]))
    return redirect("gallery:detail", image.id)


@login_required
@require_POST
def image_tag_remove(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    _deny_unless(selectors.image_permissions(user=request.user, image=image).can_tag)
    services.image_tag_remove(image=image, name=request.POST.get("name", ""))
    return redirect("gallery:detail", image.id)


@login_required
@require_POST
def image_favourite(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    services.image_favourite_toggle(user=request.user, image=image)
    return redirect("gallery:detail", image.id)


@login_required
@require_POST
def image_share(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    _deny_unless(selectors.image_permissions(user=request.user, image=image).is_owner)
    team = team_get(user=request.user, team_id=_int(request.POST.get("team")))
    try:
        services.image_share(user=request.user, images=[image], team=team)
    except ValidationError as error:
        raise PermissionDenied(error.messages[0]) from None
    return redirect("gallery:detail", image.id)


@login_required
@require_POST
def image_unshare(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    _deny_unless(selectors.image_permissions(user=request.user, image=image).can_unshare)
    services.image_unshare(images=[image])
    if image.owner_id == request.user.id:
        return redirect("gallery:detail", image.id)
    return redirect("gallery:team_library", image.team_id)


@login_required
@require_POST
def image_delete(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    _deny_unless(selectors.image_permissions(user=request.user, image=image).is_owner)
    services.image_delete(images=[image])
    messages.info(request, gettext("Image deleted."))
    return redirect("gallery:list")


@login_required
@require_POST
def image_collect(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    collection = _editable_collection(request, request.POST.get("collection"))
    try:
        services.collection_add(user=request.user, collection=collection, images=[image])
    except ValidationError as error:
        raise PermissionDenied(error.messages[0]) from None
    return redirect("gallery:detail", image.id)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


def _editable_collection(request, collection_id):
    collection = selectors.collection_get(user=request.user, collection_id=_int(collection_id))
    _deny_unless(selectors.collection_editable(user=request.user).filter(id=collection.id).exists())
    return collection


@login_required
def collection_list(request):
    teams = list(team_editable(user=request.user))
    form = CollectionForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        team = form.teams.get(form.cleaned_data["team"]) if form.cleaned_data["team"] else None
        if form.cleaned_data["team"] and team is None:
            raise Http404
        try:
            collection = services.collection_create(
                user=request.user, name=form.cleaned_data["name"], team=team
            )
        except ValidationError as error:
            for message in _field_messages(error):
                form.add_error("name", message)
        else:
            return redirect("gallery:collection", collection.id)
    collections = selectors.collection_visible(user=request.user).select_related("team")
    return render(
        request,
        "gallery/collections.html",
        {"collections": collections.order_by("team__name", "name"), "form": form, "teams": teams},
    )


def _field_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return list(error.messages)


@login_required
@require_POST
def collection_rename(request, collection_id):
    collection = _editable_collection(request, collection_id)
    try:
        services.collection_rename(collection=collection, name=request.POST.get("name", ""))
    except ValidationError as error:
        messages.error(request, " ".join(_field_messages(error)))
    else:
        messages.info(request, gettext("Renamed to “%(name)s”.") % {"name": collection.name})
    return redirect("gallery:collection", collection.id)


@login_required
@require_POST
def collection_image_remove(request, collection_id, image_id):
    collection = _editable_collection(request, collection_id)
    image = selectors.image_get(user=request.user, image_id=image_id)
    services.collection_remove(collection=collection, images=[image])
    messages.info(request, gettext("Removed from “%(name)s”.") % {"name": collection.name})
    return _back(request, reverse("gallery:collection", args=[collection.id]))


@login_required
@require_POST
def collection_delete(request, collection_id):
    collection = _editable_collection(request, collection_id)
    services.collection_delete(collection=collection)
    messages.info(
        request,
        gettext("Collection “%(name)s” deleted; its images are kept.") % {"name": collection.name},
    )
    return redirect("gallery:collections")


_NOT_PERMITTED = {
    BulkForm.Action.DELETE: _("Only an image's owner can delete it"),
    BulkForm.Action.SHARE: _("Only an image's owner can share it"),
    BulkForm.Action.UNSHARE: _(
        "Removing from a team needs your own image or the editor role there"
    ),
    BulkForm.Action.TAG: _("Tagging needs your own image or the editor role in its team"),
}


# What each action asks of every selected image (gallery.selectors.image_refusals).
_NEEDS = {
    BulkForm.Action.DELETE: "owner",
    BulkForm.Action.SHARE: "owner",
    BulkForm.Action.UNSHARE: "editor",
    BulkForm.Action.TAG: "editor",
}
# Refused images named one by one in a bulk error, at most.
_REFUSALS_SHOWN = 5


def _visible_selection(user, ids) -> list[Image]:
    images = selectors.image_visible(user=user).filter(id__in=ids)
    return list(images.select_related("owner", "team").order_by("-created_at", "-id"))


def _per_image(user, images: list[Image], needs: str, team=None) -> str:
    """Each refused image and why, for the bulk error (the first few only)."""
    reasons = selectors.image_refusals(
        user=user, images=images[:_REFUSALS_SHOWN], needs=needs, team=team
    )
    hidden = len(images) - _REFUSALS_SHOWN
    more = gettext("; and %(count)s more.") % {"count": hidden} if hidden > 0 else "."
    return "; ".join(reasons) + more


def _bulk_form_problem(form: BulkForm) -> str:
    if "images" in form.errors:
        return gettext("Select at least one image first.")
    if "action" in form.errors:
        return gettext("Choose an action.")
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


def _selection(ids, images) -> tuple[list, int]:
    """The selected images among those the action may touch, and how many are not."""
    chosen = list(images.filter(id__in=ids).order_by("-created_at", "-id"))
    return chosen, len(set(ids)) - len(chosen)


def _bulk_images(user, action: str) -> QuerySet[Image]:
    """The images this action may touch: the rule the bulk bar's choices follow too."""
    Action = BulkForm.Action
    if action in (Action.DELETE, Action.SHARE):
        return selectors.image_list(user=user)
    if action in (Action.UNSHARE, Action.TAG):
        return selectors.image_taggable(user=user)
    return selectors.image_visible(user=user)


@login_required
@require_POST
def bulk(request):
    """Bulk actions answer on the page they came from: what was done, or what went wrong
    and that nothing changed. Ids the user cannot see at all are a 404, as everywhere."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _bulk_form_problem(form))
        return _back(request, "gallery:list")
    data, user, Action = form.cleaned_data, request.user, BulkForm.Action
    ids = data["images"]
    action = data["action"]
    if selectors.image_visible(user=user).filter(id__in=ids).count() != len(set(ids)):
        raise Http404("Some selected images are not available.")
    images, refused = _selection(ids, _bulk_images(user, action))
    if refused:
        allowed = {image.id for image in images}
        others = [image for image in _visible_selection(user, ids) if image.id not in allowed]
        messages.error(
            request,
            gettext(
                "%(rule)s: you cannot do that to %(refused)s of the %(selected)s selected. "
                "Nothing was changed. "
            )
            % {"rule": _NOT_PERMITTED[action], "refused": refused, "selected": len(set(ids))}
            + _per_image(user, others, _NEEDS[action]),
        )
        return _back(request, "gallery:list")
    if action == Action.ZIP:
        response = StreamingHttpResponse(
            image_zip_stream(images=images), content_type="application/zip"
        )
        response["Content-Disposition"] = 'attachment; filename="atelier-images.zip"'
        return response
    try:
        if action == Action.DELETE:
            services.image_delete(images=images)
        elif action == Action.SHARE:
            team = team_get(user=user, team_id=data["team"])
            services.image_share(user=user, images=images, team=team)
        elif action == Action.UNSHARE:
            services.image_unshare(images=images)
        elif action == Action.TAG:
            services.image_tags_add(images=images, names=data["tag_names"])
        elif action == Action.COLLECT:
            collection = _editable_collection(request, data["collection"])
            outside = [
                image
                for image in images
                if collection.team is not None
                and image.owner_id != user.id
                and image.team_id != collection.team_id
            ]
            if outside:
                messages.error(
                    request,
                    gettext(
                        "A team collection only holds images shared with the team: "
                        "%(outside)s of the %(selected)s selected are not. Nothing was changed. "
                    )
                    % {"outside": len(outside), "selected": len(images)}
                    + _per_image(user, outside, "team", team=collection.team),
                )
                return _back(request, "gallery:list")
            services.collection_add(user=user, collection=collection, images=images)
    except (ValidationError, PermissionDenied) as error:
        problem = getattr(error, "messages", None) or [
            gettext("You cannot change that collection.")
        ]
        messages.error(
            request, gettext("%(problem)s Nothing was changed.") % {"problem": problem[0]}
        )
        return _back(request, "gallery:list")
    messages.info(
        request,
        ngettext("%(action)s: %(count)s image.", "%(action)s: %(count)s images.", len(images))
        % {"action": dict(BulkForm.ACTIONS)[action], "count": len(images)},
    )
    return _back(request, "gallery:list")


@require_GET
def media(request):
    """Serves local-storage files behind signed, expiring tokens (the S3 backend presigns)."""
    try:
        key = media_key_from_token(request.GET.get("t", ""))
    except signing.BadSignature:
        raise Http404("This link has expired or is invalid.") from None
    if not default_storage.exists(key):
        raise Http404("No such file.")
    response = FileResponse(default_storage.open(key, "rb"))
    response["Cache-Control"] = "private, max-age=300"
    return response
