from django.contrib import admin

from gallery.models import Image


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "owner",
        "job",
        "index",
        "width",
        "height",
        "format",
        "bytes",
        "created_at",
    )
    list_select_related = ("owner", "job")
    search_fields = ("job__prompt", "owner__username", "sha256")
    readonly_fields = [f.name for f in Image._meta.fields]
