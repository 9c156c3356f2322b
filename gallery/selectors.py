from __future__ import annotations

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from gallery.models import Image


def image_list(*, user) -> QuerySet[Image]:
    """A user's own images, newest first."""
    return (
        Image.objects.filter(owner=user, is_hidden=False)
        .select_related("job")
        .order_by("-created_at", "-id")
    )


def image_get(*, user, image_id: int) -> Image:
    """One image the user may see; 404 otherwise, so ids reveal nothing."""
    return get_object_or_404(image_list(user=user), id=image_id)


def image_urls(image: Image) -> dict[str, str]:
    return {
        "original": default_storage.url(image.original_key),
        "thumbnail": default_storage.url(image.thumbnail_key),
    }
