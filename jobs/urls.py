from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.studio, name="studio"),
    path("prompts/", views.prompt_history, name="prompt_history"),
    path("jobs/<uuid:job_id>/", views.job_card, name="job_card"),
    path("jobs/<uuid:job_id>/page/", views.job_detail, name="job_detail"),
    path("jobs/<uuid:job_id>/partial/", views.job_partial_image, name="job_partial_image"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:job_id>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<uuid:job_id>/action/", views.job_midjourney_action, name="job_midjourney_action"),
    path("jobs/<uuid:job_id>/modal/", views.job_midjourney_modal, name="job_midjourney_modal"),
    path("jobs/<uuid:job_id>/seed/", views.midjourney_seed, name="midjourney_seed"),
    path("midjourney/shorten/", views.midjourney_shorten, name="midjourney_shorten"),
    path(
        "hooks/midjourney/<uuid:job_id>/<str:secret>/",
        views.midjourney_hook,
        name="midjourney_hook",
    ),
    path("images/<int:image_id>/edit/", views.image_edit, name="image_edit"),
    path("images/<int:image_id>/variations/", views.image_variations, name="image_variations"),
]
