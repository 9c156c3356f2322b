from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from gallery import selectors
from gallery.storage import media_key_from_token


@login_required
def gallery(request):
    page = Paginator(selectors.image_list(user=request.user), 48).get_page(request.GET.get("page"))
    tiles = [(image, selectors.image_urls(image)) for image in page]
    return render(request, "gallery/gallery.html", {"page": page, "tiles": tiles})


@login_required
def image_detail(request, image_id):
    image = selectors.image_get(user=request.user, image_id=image_id)
    return render(
        request, "gallery/image_detail.html", {"image": image, "urls": selectors.image_urls(image)}
    )


@login_required
def image_file(request, image_id, variant):
    """Checks access, then redirects to a short-lived signed link to the stored object."""
    image = selectors.image_get(user=request.user, image_id=image_id)
    key = image.original_key if variant == "original" else image.thumbnail_key
    return redirect(default_storage.url(key))


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
