from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """One request an API token made, so that its repeats answer with the same job.

    ``key`` is the client's ``Idempotency-Key``, or for requests without one a digest of
    the request (``derived``), so that an SDK's automatic retry of a timed-out request
    joins the job the first attempt made instead of paying for a second.
    """

    token = models.ForeignKey(
        "api.AccessToken", on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    derived = models.BooleanField(default=False)
    endpoint = models.CharField(max_length=32)
    # SHA-256 of the request's endpoint, fields and files: a client key reused for a
    # different request is refused rather than answered with the wrong job.
    fingerprint = models.CharField(max_length=64)
    # Empty while the first request is still creating its job.
    job = models.ForeignKey(
        "jobs.GenerationJob",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="idempotency_keys",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotencykey_token_key"),
        ]
        indexes = [
            # Expired keys are deleted by age.
            models.Index(fields=["created_at"], name="idempotencykey_created"),
        ]

    def __str__(self) -> str:
        return f"{self.key[:24]} → {self.job_id}"
