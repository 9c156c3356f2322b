import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ImageReport(models.Model):
    """A member's report that an image breaks the rules; staff resolve it from the queue."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        APPROVED = "approved", _("Approved (image kept)")
        HIDDEN = "hidden", _("Image hidden")
        DELETED = "deleted", _("Image deleted")

    # A deleted image keeps its reports, for the record.
    image = models.ForeignKey(
        "gallery.Image", null=True, on_delete=models.SET_NULL, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="image_reports",
        verbose_name=_("reporter"),
    )
    reason = models.TextField(verbose_name=_("reason"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolution_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("image report")
        verbose_name_plural = _("image reports")
        indexes = [
            # The staff queue lists open reports.
            models.Index(fields=["status", "-created_at"], name="report_status_recent"),
        ]

    def __str__(self) -> str:
        return f"Report {self.id} on image {self.image_id} ({self.status})"


class BlockedTerm(models.Model):
    """A word or a regular expression that a prompt must not contain."""

    class Kind(models.TextChoices):
        WORD = "word", _("Word or phrase")
        REGEX = "regex", _("Regular expression")

    kind = models.CharField(
        max_length=8, choices=Kind.choices, default=Kind.WORD, verbose_name=_("kind")
    )
    pattern = models.CharField(max_length=500, verbose_name=_("pattern"))
    note = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Why it is blocked (staff only)."),
        verbose_name=_("note"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("enforced"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        ordering = ["pattern"]
        verbose_name = _("blocked term")
        verbose_name_plural = _("blocked terms")
        constraints = [
            models.UniqueConstraint(fields=["kind", "pattern"], name="blocked_term_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.pattern}"

    def clean(self) -> None:
        if self.kind == self.Kind.REGEX:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                message = gettext("Not a valid regular expression: %(error)s") % {"error": exc}
                raise ValidationError({"pattern": message}) from exc
        elif not self.pattern.strip():
            raise ValidationError({"pattern": _("Enter a word or phrase.")})


class Suspension(models.Model):
    """While a suspension is active (not lifted), the user's jobs are refused."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="suspensions",
        verbose_name=_("user"),
    )
    reason = models.TextField(verbose_name=_("reason"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    lifted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lifted"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(lifted_at__isnull=True),
                name="suspension_one_active_per_user",
            ),
        ]

    def __str__(self) -> str:
        state = "lifted" if self.lifted_at else "active"
        return f"Suspension of {self.user} ({state})"


class Quota(models.Model):
    """Limits for one user; an empty field falls back to the site default from settings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="quota",
        verbose_name=_("user"),
    )
    daily_images = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Images per UTC day; empty for the site default."),
        verbose_name=_("images per day"),
    )
    monthly_spend_usd = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Spend per UTC calendar month in USD; empty for the site default."),
        verbose_name=_("monthly spend (USD)"),
    )
    jobs_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Job submissions per minute; empty for the site default."),
        verbose_name=_("jobs per minute"),
    )

    class Meta:
        verbose_name = _("user quota")
        verbose_name_plural = _("user quotas")

    def __str__(self) -> str:
        return f"Quota for {self.user}"


class ModerationEvent(models.Model):
    """Something a moderation check or a provider's safety system refused."""

    class Source(models.TextChoices):
        PROVIDER = "provider", _("Provider content policy")
        BLOCKLIST = "blocklist", _("Prompt blocklist")
        PREMODERATION = "premoderation", _("Pre-moderation")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="moderation_events",
        verbose_name=_("user"),
    )
    job = models.ForeignKey(
        "jobs.GenerationJob",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="moderation_events",
        verbose_name=_("job"),
    )
    source = models.CharField(max_length=16, choices=Source.choices, verbose_name=_("source"))
    code = models.CharField(max_length=64, verbose_name=_("code"))
    detail = models.TextField(blank=True, verbose_name=_("detail"))
    prompt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("moderation event")
        verbose_name_plural = _("moderation events")

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.code} for {self.user}"


class AuditEntry(models.Model):
    """Who did what to what, when and why. Written by services, never edited."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(max_length=64, verbose_name=_("action"))
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True, verbose_name=_("target"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_repr}"


class TeamQuota(models.Model):
    """Limits shared by a team's members; an empty field sets no team limit.

    Jobs belong to people; a team's use is the work done in the team, the jobs whose
    images are in its library.
    """

    team = models.OneToOneField(
        "teams.Team", on_delete=models.CASCADE, related_name="quota", verbose_name=_("team")
    )
    daily_images = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Images per UTC day for the whole team."),
        verbose_name=_("images per day"),
    )
    monthly_spend_usd = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Spend per UTC calendar month in USD for the whole team."),
        verbose_name=_("monthly spend (USD)"),
    )

    class Meta:
        verbose_name = _("team quota")
        verbose_name_plural = _("team quotas")

    def __str__(self) -> str:
        return f"Quota for team {self.team}"
