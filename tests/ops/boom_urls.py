"""A view that fails, for the Sentry test."""

from django.urls import path


def boom(request):
    raise RuntimeError("ops sentry probe: this view always fails")


urlpatterns = [path("boom/", boom)]
