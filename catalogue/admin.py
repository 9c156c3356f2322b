"""Administrators keep the catalogue: add a model like another, edit what differs."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalogue.checks import models_check
from catalogue.models import CatalogueModel, PairingReview
from catalogue.services import catalogue_model_copy, catalogue_model_save
from jobs.registry import Family, spec_from_entry


def _templates() -> list[tuple[str, str]]:
    return [
        (row.name, f"{row.label_en} ({row.family})")
        for row in CatalogueModel.objects.order_by("family", "position", "name")
    ]


class CatalogueModelAddForm(forms.ModelForm):
    """Step one: a name, a family and the model it is like."""

    template = forms.ChoiceField(
        label=_("Like"),
        choices=_templates,
        help_text=_(
            "The new model starts as a copy of this one's capabilities and price; edit what "
            "differs on the next page."
        ),
    )

    class Meta:
        model = CatalogueModel
        fields = ("name", "family", "label_en")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        template = CatalogueModel.objects.filter(name=cleaned.get("template")).first()
        if template is None:
            self.add_error("template", gettext("Choose a model to copy."))
        elif cleaned.get("family") and template.family != cleaned["family"]:
            self.add_error(
                "template",
                gettext("%(model)s belongs to the %(family)s family; choose one of %(wanted)s.")
                % {"model": template.name, "family": template.family, "wanted": cleaned["family"]},
            )
        self.template_row = template
        return cleaned


class PrettyJSONWidget(forms.Textarea):
    def format_value(self, value):
        try:
            return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            return value


class CatalogueModelForm(forms.ModelForm):
    """Every field; the entry must still make a ModelSpec, or the edit is refused."""

    class Meta:
        model = CatalogueModel
        fields = (
            "name",
            "family",
            "position",
            "label_en",
            "label_zh",
            "description_en",
            "description_zh",
            "lifecycle",
            "shutdown_on",
            "announced_on",
            "successor",
            "lifecycle_note",
            "lifecycle_source",
            "spec",
            "price",
        )
        widgets = {
            "spec": PrettyJSONWidget(attrs={"rows": 30, "cols": 90, "spellcheck": "false"}),
            "price": PrettyJSONWidget(attrs={"rows": 10, "cols": 90, "spellcheck": "false"}),
        }
        help_texts = {
            "spec": _(
                "What the model takes: sizes (or size_rule), qualities, styles, backgrounds, "
                "output_formats, moderation_levels, n_max, prompt_max_chars, edits, masks, "
                "variations, blends, describes, seeds, partial_images, input images and their "
                'formats, sizes and fidelities, max_images_per_reply, and maker ("openai": '
                "the default OpenAI connection offers it while it is available)."
            ),
            "price": _(
                "USD. per_image: {quality: price, default: price}; per_image_by_size: "
                "{size: {quality: price}}; per_million_tokens: {text_input, image_input, "
                "image_output}; per_reply (chat models); per_task (Midjourney); source."
            ),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        entry = {
            **{name: value for name, value in cleaned.items()},
            "name": cleaned.get("name") or self.instance.name,
        }
        for column in ("shutdown_on", "announced_on"):
            value = entry.get(column)
            entry[column] = value.isoformat() if value else None
        try:
            spec_from_entry(entry)
        except ValidationError as error:
            for field, messages_ in error.message_dict.items():
                target = field if field in self.fields else "spec"
                for message in messages_:
                    self.add_error(target, message)
        successor = cleaned.get("successor")
        if successor and not CatalogueModel.objects.filter(name=successor).exists():
            self.add_error(
                "successor", gettext("The catalogue has no model %(name)s.") % {"name": successor}
            )
        return cleaned


@admin.register(CatalogueModel)
class CatalogueModelAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "label_en",
        "family",
        "lifecycle",
        "shutdown_on",
        "successor",
        "copied_from",
        "edited",
    )
    list_filter = ("family", "lifecycle")
    search_fields = ("name", "label_en", "label_zh")
    readonly_fields = ("copied_from", "edited_fields", "shipped_version", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "family", "copied_from", "position")}),
        (_("Labels"), {"fields": ("label_en", "label_zh", "description_en", "description_zh")}),
        (
            _("Lifecycle"),
            {
                "fields": (
                    "lifecycle",
                    "shutdown_on",
                    "announced_on",
                    "successor",
                    "lifecycle_note",
                    "lifecycle_source",
                )
            },
        ),
        (_("Capabilities and price"), {"fields": ("spec", "price")}),
        (_("Shipped defaults"), {"fields": ("edited_fields", "shipped_version", "updated_at")}),
    )

    @admin.display(description=_("edited by an administrator"))
    def edited(self, obj: CatalogueModel) -> str:
        return ", ".join(obj.edited_fields) if obj.shipped_version else gettext("added here")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = CatalogueModelAddForm if obj is None else CatalogueModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("name", "family", "template", "label_en")}),)
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            copy = catalogue_model_copy(
                name=obj.name, family=obj.family, template=form.template_row, label_en=obj.label_en
            )
            obj.pk = copy.pk
            obj.refresh_from_db()
            return
        before = CatalogueModel.objects.get(pk=obj.pk).entry()
        catalogue_model_save(row=obj, before=before)

    def response_add(self, request, obj, post_url_continue=None):
        """Straight on to editing what differs from the template."""
        self.message_user(
            request,
            gettext("%(name)s was copied from %(template)s; edit what differs.")
            % {"name": obj.name, "template": obj.copied_from},
            messages.SUCCESS,
        )
        return redirect(reverse("admin:catalogue_cataloguemodel_change", args=[obj.pk]))


@admin.register(PairingReview)
class PairingReviewAdmin(admin.ModelAdmin):
    list_display = ("connection", "model", "reason", "occurrences", "last_seen_at", "resolved")
    list_filter = ("resolved", "reason", "connection")
    readonly_fields = ("connection", "model", "reason", "detail", "occurrences")
    actions = ["mark_resolved"]

    @admin.action(description=_("Mark as resolved"))
    def mark_resolved(self, request, queryset):
        count = queryset.update(resolved=True)
        self.message_user(request, gettext("%(count)s marked as resolved.") % {"count": count})


def check_models(modeladmin, request: HttpRequest, queryset):
    """Admin action on provider connections: their providers' GET /v1/models, compared."""
    reports = [models_check(connection_name=row.name) for row in queryset]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Check models"),
        "reports": reports,
        "families": [f.value for f in Family],
    }
    return TemplateResponse(request, "catalogue/admin/models_check.html", context)


check_models.short_description = _("Check models (GET /v1/models)")  # type: ignore[attr-defined]
