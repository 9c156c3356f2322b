"""The model catalogue: image models as data, edited by administrators.

``jobs.registry`` reads these rows as ``ModelSpec`` objects; families stay code.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from jobs.registry import Family, Lifecycle

# Fields an administrator may change; the loader keeps each one that was changed.
# ``spec.<key>`` and ``price.<key>`` name one key inside those JSON fields.
TRACKED_COLUMNS = (
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
)


def row_entry(row) -> dict:
    """A row's values as ``spec_from_entry`` reads them (migration models have no methods)."""
    entry = {column: getattr(row, column) for column in TRACKED_COLUMNS}
    for column in ("shutdown_on", "announced_on"):
        value = entry[column]
        entry[column] = value.isoformat() if value else None
    return {**entry, "name": row.name, "spec": row.spec, "price": row.price}


class CatalogueModel(models.Model):
    name = models.CharField(
        _("name"), max_length=64, unique=True, help_text=_("As the API names it.")
    )
    family = models.CharField(
        _("family"), max_length=32, choices=[(f.value, f.value) for f in Family]
    )
    copied_from = models.CharField(
        _("copied from"), max_length=64, blank=True, help_text=_("The template it was made from.")
    )
    position = models.PositiveIntegerField(_("position"), default=1000)
    label_en = models.CharField(_("label (English)"), max_length=100)
    label_zh = models.CharField(_("label (Chinese)"), max_length=100, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    lifecycle = models.CharField(
        _("lifecycle"),
        max_length=16,
        choices=[
            (Lifecycle.PREVIEW.value, _("Preview")),
            (Lifecycle.AVAILABLE.value, _("Available")),
            (Lifecycle.DEPRECATED.value, _("Deprecated")),
            (Lifecycle.SHUT_DOWN.value, _("Shut down")),
        ],
        default=Lifecycle.AVAILABLE.value,
    )
    shutdown_on = models.DateField(_("shutdown date"), null=True, blank=True)
    announced_on = models.DateField(_("announced on"), null=True, blank=True)
    successor = models.CharField(_("successor"), max_length=64, blank=True)
    lifecycle_note = models.TextField(_("lifecycle note"), blank=True)
    lifecycle_source = models.CharField(
        _("source of the lifecycle facts"), max_length=500, blank=True
    )
    spec = models.JSONField(_("capabilities"), default=dict)
    price = models.JSONField(_("price"), default=dict)
    edited_fields = models.JSONField(_("fields an administrator changed"), default=list, blank=True)
    # The shipped file's version this row last took values from; "" when an administrator
    # added the model (the loader leaves such rows alone).
    shipped_version = models.CharField(_("shipped version"), max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Every process compares max(updated_at) and the row count to notice an edit.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("catalogue model")
        verbose_name_plural = _("catalogue models")

    def __str__(self) -> str:
        return self.name

    def entry(self) -> dict:
        """The values ``jobs.registry.spec_from_entry`` reads."""
        return row_entry(self)


class PairingReview(models.Model):
    """A connection claimed a model its provider says it does not have (``invalid_model``),
    or "Check models" found it missing: for staff to fix the connection or the catalogue."""

    class Reason(models.TextChoices):
        INVALID_MODEL = "invalid_model", _("The provider answered invalid_model")
        MISSING = "missing", _("Not in the provider's /v1/models")

    connection = models.CharField(_("connection"), max_length=64)
    model = models.CharField(_("model"), max_length=64)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    detail = models.TextField(_("detail"), blank=True)
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    resolved = models.BooleanField(_("resolved"), default=False)

    class Meta:
        ordering = ["resolved", "-last_seen_at"]
        verbose_name = _("pairing review")
        verbose_name_plural = _("pairing reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "model", "reason"],
                condition=models.Q(resolved=False),
                name="pairing_review_open_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} on {self.connection}: {self.reason}"
