from django.contrib import admin

from gallery.models import Collection, CollectionItem, Image, Tag


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "owner",
        "job",
        "index",
        "title",
        "team",
        "width",
        "height",
        "format",
        "bytes",
        "is_hidden",
        "created_at",
    )
    list_filter = ("is_hidden", "format")
    list_select_related = ("owner", "job", "team")
    search_fields = ("prompt", "title", "owner__username", "sha256")
    # Moderation changes images through its own services, never by editing rows here.
    readonly_fields = [f.name for f in Image._meta.fields if f.name != "search_vector"]
    exclude = ("search_vector", "tags")


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 0
    raw_id_fields = ("image", "added_by")


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "team", "created_at")
    list_select_related = ("owner", "team")
    search_fields = ("name",)
    raw_id_fields = ("owner", "team")
    inlines = [CollectionItemInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)
