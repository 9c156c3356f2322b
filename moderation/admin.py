from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from moderation import services
from moderation.models import (
    AuditEntry,
    BlockedTerm,
    ImageReport,
    ModerationEvent,
    Quota,
    Suspension,
    TeamQuota,
)


class AuditedAdmin(admin.ModelAdmin):
    """Admin edits of moderation settings land in the audit log like any other decision."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.{'change' if change else 'add'}",
            target=obj,
            reason="admin",
            detail={"fields": list(form.changed_data)},
        )

    def delete_model(self, request, obj):
        services.audit_record(
            actor=request.user, action=f"{obj._meta.model_name}.delete", target=obj, reason="admin"
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BlockedTerm)
class BlockedTermAdmin(AuditedAdmin):
    list_display = ("pattern", "kind", "is_active", "note", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("pattern", "note")


@admin.register(Quota)
class QuotaAdmin(AuditedAdmin):
    list_display = ("user", "daily_images", "monthly_spend_usd", "jobs_per_minute")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)


@admin.register(TeamQuota)
class TeamQuotaAdmin(AuditedAdmin):
    list_display = ("team", "daily_images", "monthly_spend_usd")
    search_fields = ("team__name",)


@admin.register(ImageReport)
class ImageReportAdmin(ReadOnlyAdmin):
    """Reports are decided in the moderation queue, which asks for a reason."""

    list_display = ("id", "image_link", "reporter", "status", "reason", "created_at")
    list_filter = ("status",)
    search_fields = ("reason", "reporter__username")
    list_select_related = ("reporter",)

    @admin.display(description=_("Image"))
    def image_link(self, obj):
        if obj.image_id is None:
            return _("(deleted)")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("moderation:queue") + "?all=1",
            _("image %(id)s") % {"id": obj.image_id},
        )


@admin.register(Suspension)
class SuspensionAdmin(ReadOnlyAdmin):
    """Suspend from a member's moderation page, which asks for a reason and can hide images."""

    list_display = ("user", "reason", "created_by", "created_at", "lifted_at", "member_page")
    list_filter = (("lifted_at", admin.EmptyFieldListFilter),)
    search_fields = ("user__username", "reason")
    list_select_related = ("user", "created_by")

    @admin.display(description=_("Moderation"))
    def member_page(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("moderation:member", args=[obj.user_id]), _("open")
        )


@admin.register(ModerationEvent)
class ModerationEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "source", "code", "job", "detail")
    list_filter = ("source", "code")
    search_fields = ("user__username", "prompt", "detail")
    list_select_related = ("user", "job")
    date_hierarchy = "created_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "target_repr", "reason")
    list_filter = ("action", "target_type")
    search_fields = ("actor__username", "target_repr", "reason", "target_id")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"


@admin.register(LogEntry)
class AdminLogAdmin(ReadOnlyAdmin):
    """Django's own record of every admin add, change and delete, on any model."""

    list_display = ("action_time", "user", "content_type", "object_repr", "action_flag")
    list_filter = ("action_flag", "content_type")
    search_fields = ("object_repr", "change_message", "user__username")
    list_select_related = ("user", "content_type")
    date_hierarchy = "action_time"
