import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jobs.registry import Family

# The error code of a job cancelled after its provider call was sent, whose images came back.
CANCELLED_KEPT = "cancelled_kept"


class GenerationJob(models.Model):
    """One request to an image provider; the database row is the source of truth.

    Transitions are conditional UPDATEs in ``jobs.services``; the broker only
    carries hints that a job may be ready to run.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # The provider may have made (and billed) an image we never received.
        UNKNOWN = "unknown", _("Outcome unknown")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        GENERATE = "generate", _("Generate")
        EDIT = "edit", _("Edit")
        VARIATION = "variation", _("Variation")
        BLEND = "blend", _("Blend")
        DESCRIBE = "describe", _("Describe")
        # A follow-up on a provider task, e.g. a Midjourney upscale (U1) or variation (V2).
        ACTION = "action", _("Action")
        # Midjourney's prompt analysis: shorter prompts suggested, kept in response_text.
        SHORTEN = "shorten", _("Shorten")
        # InsightFace through the Midjourney proxy: a face put onto another image's person.
        SWAP_FACE = "swap_face", _("Face swap")

    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.UNKNOWN, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="generation_jobs",
        verbose_name=_("owner"),
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERATE)
    provider = models.CharField(max_length=32, help_text="Provider family, from the registry.")
    connection = models.CharField(
        max_length=64,
        help_text="Name of the connection that serves it.",
        verbose_name=_("connection"),
    )
    model = models.CharField(max_length=64, verbose_name=_("model"))
    prompt = models.TextField()
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    provider_request_sent_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, verbose_name=_("error code"))
    error_message = models.TextField(blank=True)
    progress = models.CharField(max_length=64, blank=True)
    response_text = models.TextField(blank=True, help_text="Text the provider returned alongside.")
    usage = models.JSONField(default=dict, blank=True)
    # While the job is unfinished, the price reserved for it at admission (so that queued
    # jobs count against the spend limit); once it ends, what the provider billed, or None
    # when nothing was paid.
    cost_usd = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    # Images the job stored, set when it ends; quotas count these (None: unfinished, the
    # images it asks for count).
    images_stored = models.PositiveIntegerField(null=True, blank=True)
    # Inputs for edits and variations: a gallery image or uploads, kept in storage.
    source_image = models.ForeignKey(
        "gallery.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_jobs",
    )
    input_keys = models.JSONField(default=list, blank=True)
    mask_key = models.CharField(max_length=255, blank=True)
    # Latest partial image a streaming provider sent, shown while the job runs.
    partial_image_key = models.CharField(max_length=255, blank=True)
    # The provider's own id for asynchronous tasks (Midjourney).
    provider_task_id = models.CharField(max_length=128, blank=True, db_index=True)
    # When a Midjourney task waiting in a modal (Custom Zoom, Vary (Region)) was confirmed:
    # like the submit itself, a confirmation is sent once.
    provider_modal_sent_at = models.DateTimeField(null=True, blank=True)
    # Follow-ups the provider offers once the task is done (Midjourney's buttons):
    # [{"custom_id": ..., "label": ..., "emoji": ...}].
    provider_actions = models.JSONField(default=list, blank=True)
    # The path secret of this job's callback URL (the proxy's callbacks are unsigned);
    # empty when Atelier has no public address and only polls.
    provider_callback_secret = models.CharField(max_length=64, blank=True, editable=False)
    # The newest state of the provider's task seen by a poll or a callback, so that one
    # arriving out of order (or twice) changes nothing.
    provider_task_state = models.JSONField(default=dict, blank=True)
    # The seed Midjourney drew the image with, fetched on request ("Get seed").
    provider_seed = models.CharField(max_length=32, blank=True)
    # Follow-ups (Midjourney buttons, retries, remixes) point at the job they came from.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    # The studio form's one-time token: a doubled or retried submit finds this job
    # instead of making (and paying for) a second one.
    submit_token = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("generation job")
        verbose_name_plural = _("generation jobs")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "submit_token"],
                condition=models.Q(submit_token__isnull=False),
                name="job_owner_submit_token_unique",
            ),
        ]
        indexes = [
            # The studio lists a user's recent jobs; the reaper scans by status.
            models.Index(fields=["owner", "-created_at"], name="job_owner_recent"),
            models.Index(fields=["status", "lease_expires_at"], name="job_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.model} job {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def kept_after_cancel(self) -> bool:
        """Cancelled while the provider was already making it: the paid images are kept."""
        return self.status == self.Status.CANCELLED and self.error_code == CANCELLED_KEPT


class ProviderConnection(models.Model):
    """A provider connection added in the admin, alongside those from the environment.

    The API key is stored encrypted (``jobs.connections``) and is never shown back.
    """

    name = models.SlugField(max_length=64, unique=True, verbose_name=_("name"))
    family = models.CharField(
        max_length=32,
        choices=[(f.value, f.value) for f in Family],
        verbose_name=_("provider family"),
    )
    base_url = models.URLField(max_length=500, verbose_name=_("base URL"))
    api_key_encrypted = models.TextField(blank=True, editable=False)
    model_names = models.JSONField(default=list, blank=True, help_text="Registry models it serves.")
    # Off by default: image downloads reach only public addresses unless listed here.
    allowed_networks = models.JSONField(
        default=list,
        blank=True,
        help_text="Networks or host names its image downloads may reach besides the public "
        "internet, e.g. a proxy on the LAN.",
    )
    # Face swaps change a real person's face: off unless an administrator turns them on.
    swap_face_enabled = models.BooleanField(
        default=False,
        help_text="Midjourney connections: offer InsightFace face swaps (each one is recorded "
        "as a moderation event).",
    )
    stream_replies = models.BooleanField(
        default=False,
        help_text="Chat-completion connections: ask for streamed replies and show their "
        "progress text while they arrive.",
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("provider connection")
        verbose_name_plural = _("provider connections")

    def __str__(self) -> str:
        return f"{self.name} ({self.family})"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)


class ProviderAnswer(models.Model):
    """The provider's answer, kept before anything is decoded or stored.

    Once this row exists the provider is never called again for the job: a crash
    while storing resumes from here.
    """

    job = models.OneToOneField(GenerationJob, on_delete=models.CASCADE, related_name="answer")
    items = models.JSONField(help_text="One entry per image: b64_json or url, revised_prompt.")
    # Where each image of the answer is kept in storage, as received (answers/<job>/<i>.b64
    # for base64, .bin for a downloaded link), "" while it is not; old rows keep b64 inline.
    item_keys = models.JSONField(default=list, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    text = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("provider answer")
        verbose_name_plural = _("provider answers")

    def __str__(self) -> str:
        return f"Answer for {self.job_id}"
