from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.studio, name="studio"),
    path("jobs/<uuid:job_id>/", views.job_card, name="job_card"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel, name="job_cancel"),
]
