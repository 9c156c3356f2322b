from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    READ = "read", "Read"
    GENERATE = "generate", "Generate"
    LIBRARY = "library", "Manage library"


class AccessToken(models.Model):
    """A personal access token. Only the SHA-256 of the secret is kept; the secret is
    shown once, when the token is made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    # A token may act for one team its user belongs to, and then for that team only.
    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_tokens",
    )
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")
        indexes = [
            # The settings page lists one user's tokens, newest first.
            models.Index(fields=["user", "-created_at"], name="accesstoken_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class JobOrigin(models.Model):
    """The token a job was made through, and the team it acted for."""

    job = models.OneToOneField(
        "jobs.GenerationJob", primary_key=True, on_delete=models.CASCADE, related_name="api_origin"
    )
    token = models.ForeignKey(AccessToken, on_delete=models.CASCADE, related_name="jobs")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("job origin")
        verbose_name_plural = _("job origins")

    def __str__(self) -> str:
        return f"{self.job_id} by {self.token}"
