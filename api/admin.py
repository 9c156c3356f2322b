from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from api.models import AccessToken
from api.services import token_revoke


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "team", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    raw_id_fields = ("user", "team")
    # Nothing here makes or edits a token: only the hash exists, and a revoke is audited.
    readonly_fields = [f.name for f in AccessToken._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        count = sum(
            token_revoke(token=token, by=request.user, reason="Revoked in the admin")
            for token in queryset
        )
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
