from django.urls import path

from gallery import views

app_name = "gallery"
urlpatterns = [
    path("", views.gallery, name="list"),
    path("images/<int:image_id>/", views.image_detail, name="detail"),
    path(
        "images/<int:image_id>/original/",
        views.image_file,
        {"variant": "original"},
        name="original",
    ),
    path(
        "images/<int:image_id>/thumbnail/",
        views.image_file,
        {"variant": "thumbnail"},
        name="thumbnail",
    ),
    path("media/", views.media, name="media"),
]
