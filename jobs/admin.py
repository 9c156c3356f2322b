from django.contrib import admin

from jobs.models import GenerationJob


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "owner",
        "model",
        "connection",
        "status",
        "attempts",
        "error_code",
        "created_at",
    )
    list_filter = ("status", "model", "connection", "error_code")
    search_fields = ("id", "prompt", "owner__username")
    readonly_fields = [f.name for f in GenerationJob._meta.fields]
    date_hierarchy = "created_at"
