from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from jobs import services
from jobs.addresses import allow_list_entries
from jobs.connections import KEY_OTHER_HOST, KEY_UNDECRYPTABLE, api_key_encrypt, api_key_problem
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

    @admin.action(description=_("Resume failed jobs from the provider's kept answer"))
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
    """The key is write-only: the form never renders it, and a blank field keeps the old one,
    unless the base URL changes: a stored key never follows its connection to a new host."""

    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Write-only. Leave empty to keep the current key. Changing the base URL removes "
            "the stored key unless you enter it again here."
        ),
    )
    base_url = forms.URLField(max_length=500, assume_scheme="https")
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored key")
    model_names = forms.MultipleChoiceField(
        # Read when the form is built: a model an administrator just added is listed.
        choices=lambda: [(n, f"{s.label} ({s.family.value})") for n, s in MODELS.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Models",
    )

    allowed_networks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Private networks its downloads may reach",
        help_text=(
            "Off by default: image links are fetched only from public addresses. List a "
            "network (192.168.1.0/24), an address or a host name, one per line, only for a "
            "provider or proxy you run on a private network."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["allowed_networks"] = "\n".join(self.instance.allowed_networks or [])

    def clean_allowed_networks(self) -> list[str]:
        try:
            return allow_list_entries(self.cleaned_data.get("allowed_networks") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    class Meta:
        model = ProviderConnection
        fields = (
            "name",
            "family",
            "base_url",
            "model_names",
            "allowed_networks",
            "swap_face_enabled",
            "stream_replies",
            "enabled",
        )

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

    @property
    def base_url_changed(self) -> bool:
        return bool(self.instance.pk) and "base_url" in self.changed_data

    def save(self, commit=True):
        connection = super().save(commit=False)
        self.key_dropped = False
        if self.cleaned_data.get("clear_api_key"):
            connection.api_key_encrypted = ""
        elif self.cleaned_data.get("api_key"):
            connection.api_key_encrypted = api_key_encrypt(
                self.cleaned_data["api_key"], base_url=connection.base_url
            )
        elif self.base_url_changed and connection.api_key_encrypted:
            connection.api_key_encrypted = ""
            self.key_dropped = True
        if commit:
            connection.save()
        return connection


_KEY_STATUS = {
    "": _("set"),
    KEY_UNDECRYPTABLE: _("cannot be decrypted: re-enter it"),
    KEY_OTHER_HOST: _("belongs to another URL: re-enter it"),
}


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(admin.ModelAdmin):
    form = ProviderConnectionForm
    list_display = ("name", "family", "base_url", "enabled", "key_status", "updated_at")
    list_filter = ("family", "enabled")
    search_fields = ("name", "base_url")
    readonly_fields = ("key_status",)
    actions = ["check_models"]

    @admin.action(description=_("Check models (GET /v1/models)"))
    def check_models(self, request, queryset):
        from catalogue.admin import check_models

        return check_models(self, request, queryset)

    @admin.display(description=_("Key"))
    def key_status(self, obj: ProviderConnection) -> str:
        if not obj.pk or not obj.has_api_key:
            return str(_("none"))
        return str(_KEY_STATUS[api_key_problem(obj.api_key_encrypted, base_url=obj.base_url)])

    def save_model(self, request, obj, form, change):
        from moderation.services import audit_record

        old_url = ""
        if change and form.base_url_changed:
            old_url = ProviderConnection.objects.values_list("base_url", flat=True).get(pk=obj.pk)
        super().save_model(request, obj, form, change)
        if old_url:
            kept = bool(form.cleaned_data.get("api_key"))
            audit_record(
                actor=request.user,
                action="connection.base_url_change",
                target=obj,
                reason=(
                    "A new key was entered for the new URL."
                    if kept
                    else "The stored key was removed: it is never sent to a new host."
                ),
                detail={
                    "old_base_url": old_url,
                    "new_base_url": obj.base_url,
                    "key_removed": form.key_dropped,
                    "key_entered": kept,
                },
            )
        if obj.has_api_key and (
            problem := api_key_problem(obj.api_key_encrypted, base_url=obj.base_url)
        ):
            messages.error(request, f"The stored key of {obj.name} {_KEY_STATUS[problem]}.")

    def changelist_view(self, request, extra_context=None):
        broken = [
            row.name
            for row in ProviderConnection.objects.exclude(api_key_encrypted="")
            if api_key_problem(row.api_key_encrypted, base_url=row.base_url)
        ]
        if broken and request.method == "GET":
            messages.error(
                request,
                "Stored keys that cannot be used (jobs on these connections fail): "
                + ", ".join(broken)
                + ". Re-enter them, or run manage.py reencrypt_provider_keys after a key rotation.",
            )
        return super().changelist_view(request, extra_context)
