from django.conf import settings
from django.db import models


class Image(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images"
    )
    job = models.ForeignKey("jobs.GenerationJob", on_delete=models.CASCADE, related_name="images")
    index = models.PositiveSmallIntegerField(help_text="Position in the provider's answer.")
    original_key = models.CharField(max_length=255)
    thumbnail_key = models.CharField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    revised_prompt = models.TextField(blank=True)
    # Moderation: a hidden image vanishes for everyone but staff.
    is_hidden = models.BooleanField(default=False)
    hidden_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A retried job overwrites its images; it never adds a second row.
            models.UniqueConstraint(fields=["job", "index"], name="image_unique_job_index"),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"], name="image_owner_recent"),
        ]

    def __str__(self) -> str:
        return f"Image {self.id} of job {self.job_id}"
