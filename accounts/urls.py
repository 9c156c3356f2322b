from django.urls import path
from django.views.i18n import JavaScriptCatalog

from accounts import views

urlpatterns = [
    path("i18n/setlang/", views.language_set, name="set_language"),
    path("i18n/js/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
