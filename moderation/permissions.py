from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def staff_required(view):
    """Visitors log in first; members who are not staff get a 404, so the pages stay unseen."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not sees_every_image(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def sees_every_image(user) -> bool:
    """Whether the user moderates: opens every image page, hidden ones included, and
    searches (and gets suggestions from) everything.

    The one place this is decided. gallery.selectors.image_visible builds on it for
    image pages, files, search suggestions and whatever else asks what a user may see.
    """
    return bool(user.is_authenticated and user.is_active and user.is_staff)
