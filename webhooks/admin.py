from django.contrib import admin

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "team", "enabled", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "description", "owner__username", "team__name"]
    raw_id_fields = ["owner", "team", "created_by"]
    exclude = ["secret_sealed"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "started_at",
        "status_code",
        "duration_ms",
        "error",
        "response_excerpt",
    ]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "endpoint", "status", "attempts", "created_at"]
    list_filter = ["status", "event_type"]
    raw_id_fields = ["endpoint", "job"]
    readonly_fields = ["payload", "attempts", "next_attempt_at", "leased_until", "finished_at"]
    inlines = [DeliveryAttemptInline]
