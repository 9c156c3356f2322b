from django.urls import path, re_path

from openai_api import views

app_name = "openai_api"

urlpatterns = [
    path("images/generations", views.generations, name="generations"),
    path("images/edits", views.edits, name="edits"),
    path("images/variations", views.variations, name="variations"),
    path("images/files/<str:token>", views.image_file, name="image"),
    path("chat/completions", views.chat_completions, name="chat_completions"),
    path("models", views.models, name="models"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
