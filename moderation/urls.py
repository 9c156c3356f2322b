from django.urls import path

from moderation import views

app_name = "moderation"
urlpatterns = [
    path("usage/", views.usage, name="usage"),
    path("images/<int:image_id>/report/", views.report_image, name="report"),
    path("queue/", views.queue, name="queue"),
    path("queue/decide/", views.queue_decide, name="queue_decide"),
    path("images/<int:image_id>/decide/", views.image_decide, name="image_decide"),
    path("members/", views.member_list, name="members"),
    path("members/<int:user_id>/", views.member, name="member"),
    path("members/<int:user_id>/suspend/", views.member_suspend, name="member_suspend"),
    path("members/<int:user_id>/unsuspend/", views.member_unsuspend, name="member_unsuspend"),
    path("members/<int:user_id>/hide-images/", views.member_hide_images, name="member_hide_images"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
