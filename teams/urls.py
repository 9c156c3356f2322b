from django.urls import path

from teams import views

app_name = "teams"
urlpatterns = [
    path("", views.team_list, name="list"),
    path("<int:team_id>/", views.team_detail, name="detail"),
    path("<int:team_id>/members/<int:user_id>/remove/", views.member_remove, name="member_remove"),
]
