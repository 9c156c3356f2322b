from django.urls import path

from gallery import views

app_name = "gallery"
urlpatterns = [
    path("", views.gallery, name="list"),
    path("everything/", views.everything, name="everything"),
    path("teams/<int:team_id>/", views.team_library, name="team_library"),
    path("collections/", views.collection_list, name="collections"),
    path("collections/<int:collection_id>/", views.collection_detail, name="collection"),
    path(
        "collections/<int:collection_id>/rename/",
        views.collection_rename,
        name="collection_rename",
    ),
    path(
        "collections/<int:collection_id>/delete/",
        views.collection_delete,
        name="collection_delete",
    ),
    path(
        "collections/<int:collection_id>/images/<int:image_id>/remove/",
        views.collection_image_remove,
        name="collection_image_remove",
    ),
    path("bulk/", views.bulk, name="bulk"),
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
    path("images/<int:image_id>/edit/", views.image_edit, name="edit"),
    path("images/<int:image_id>/tags/", views.image_tags_add, name="tags_add"),
    path("images/<int:image_id>/tags/remove/", views.image_tag_remove, name="tag_remove"),
    path("images/<int:image_id>/favourite/", views.image_favourite, name="favourite"),
    path("images/<int:image_id>/share/", views.image_share, name="share"),
    path("images/<int:image_id>/unshare/", views.image_unshare, name="unshare"),
    path("images/<int:image_id>/collect/", views.image_collect, name="collect"),
    path("images/<int:image_id>/delete/", views.image_delete, name="delete"),
    path("media/", views.media, name="media"),
]
