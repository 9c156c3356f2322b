from django.urls import path

from api import views

app_name = "api_tokens"
urlpatterns = [
    path("", views.token_page, name="list"),
    path("<int:token_id>/revoke/", views.token_revoke_view, name="revoke"),
    path("all/", views.token_admin, name="all"),
    path("all/<int:token_id>/revoke/", views.token_admin_revoke, name="admin_revoke"),
]
