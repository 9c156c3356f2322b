from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from api import errors as api_errors
from api.api import api

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("gallery/", include("gallery.urls")),
    path("teams/", include("teams.urls")),
    path("moderation/", include("moderation.urls")),
    path("notifications/", include("notifications.urls")),
    path("v1/", include("openai_api.urls")),
    # ninja's own root view raises Http404 outside its handlers, which is the HTML page;
    # a person who opens /api/ wants the interactive docs.
    path("api/", RedirectView.as_view(url="/api/docs", permanent=False)),
    path("api/", api.urls),
    re_path(r"^api/", api_errors.not_found),
    path("settings/tokens/", include("api.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include("accounts.urls")),
    path("", include("ops.urls")),
    path("", include("jobs.urls")),
]
