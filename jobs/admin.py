from typing import Any

from django import forms
from django.contrib import admin, messages

from jobs import services
from jobs.connections import api_key_encrypt
from jobs.models import GenerationJob, ProviderConnection
from jobs.registry import MODELS


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
    search_fields = ("id", "prompt", "owner__username", "provider_task_id")
    readonly_fields = [f.name for f in GenerationJob._meta.fields]
    date_hierarchy = "created_at"
    actions = ["resume_from_kept_answer"]

    @admin.action(description="Resume failed jobs from the provider's kept answer")
    def resume_from_kept_answer(self, request, queryset):
        from moderation.services import audit_record

        resumed = 0
        for job in queryset:
            if services.job_resume(job=job):
                resumed += 1
                audit_record(actor=request.user, action="job.resume", target=job)
        skipped = queryset.count() - resumed
        self.message_user(
            request,
            f"Resumed {resumed} job(s); skipped {skipped} with no kept answer or not failed.",
            messages.SUCCESS if resumed else messages.WARNING,
        )


class ProviderConnectionForm(forms.ModelForm):
    """The key is write-only: the form never renders it, and a blank field keeps the old one."""

    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the current key.",
    )
    base_url = forms.URLField(max_length=500, assume_scheme="https")
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored key")
    model_names = forms.MultipleChoiceField(
        choices=[(name, f"{spec.label} ({spec.family.value})") for name, spec in MODELS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Models",
    )

    class Meta:
        model = ProviderConnection
        fields = ("name", "family", "base_url", "model_names", "enabled")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        family = cleaned.get("family")
        wrong = [m for m in cleaned.get("model_names") or [] if MODELS[m].family.value != family]
        if family and wrong:
            self.add_error(
                "model_names", f"These models belong to another family: {', '.join(wrong)}."
            )
        return cleaned

    def save(self, commit=True):
        connection = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            connection.api_key_encrypted = ""
        elif self.cleaned_data.get("api_key"):
            connection.api_key_encrypted = api_key_encrypt(self.cleaned_data["api_key"])
        if commit:
            connection.save()
        return connection


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(admin.ModelAdmin):
    form = ProviderConnectionForm
    list_display = ("name", "family", "base_url", "enabled", "key_set", "updated_at")
    list_filter = ("family", "enabled")
    search_fields = ("name", "base_url")

    @admin.display(boolean=True, description="Key set")
    def key_set(self, obj: ProviderConnection) -> bool:
        return obj.has_api_key
