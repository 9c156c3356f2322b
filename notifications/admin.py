from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("user",)
    search_fields = ("user__username", "message")
