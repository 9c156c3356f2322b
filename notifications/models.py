from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """Something a person should hear about in the app, such as a moderation decision."""

    class Kind(models.TextChoices):
        IMAGE_HIDDEN = "image_hidden", _("Your image was hidden")
        IMAGE_DELETED = "image_deleted", _("Your image was deleted")
        IMAGE_RESTORED = "image_restored", _("Your image is visible again")
        REPORT_DECIDED = "report_decided", _("Your report was decided")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    # Where to look (an image page); empty when there is nothing left to open.
    url = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The unread badge on every page: WHERE user AND read_at IS NULL.
            models.Index(
                fields=["user"],
                name="notification_unread",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user}"
