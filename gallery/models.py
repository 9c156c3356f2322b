from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class ImageSearchVector(SearchVector):
    """The weighted text-search document of an image, stored as a generated column.

    The embedded SQLite default has no tsvector; it stores NULL there and the
    search selector falls back to ``icontains``.
    """

    def as_sqlite(self, compiler, connection, **extra_context):
        return "NULL", []


def image_search_document():
    return (
        ImageSearchVector("prompt", "title", "tag_text", config="english", weight="A")
        + ImageSearchVector("revised_prompt", config="english", weight="B")
        + ImageSearchVector("notes", config="english", weight="C")
    )


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


# Kept in English in the audit log; shown translated (accounts.templatetags.atelier_i18n).
IMAGE_STR = gettext_noop("Image %(id)s of job %(job)s")


class Image(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="images",
        verbose_name=_("owner"),
    )
    job = models.ForeignKey(
        "jobs.GenerationJob", on_delete=models.CASCADE, related_name="images", verbose_name=_("job")
    )
    index = models.PositiveSmallIntegerField(
        help_text="Position in the provider's answer.", verbose_name=_("index")
    )
    original_key = models.CharField(max_length=255)
    thumbnail_key = models.CharField(max_length=255)
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    format = models.CharField(max_length=8, verbose_name=_("format"))
    bytes = models.PositiveBigIntegerField(verbose_name=_("size in bytes"))
    sha256 = models.CharField(max_length=64)
    # The job's prompt, copied so that one row (and one index) answers a search.
    prompt = models.TextField(blank=True)
    revised_prompt = models.TextField(blank=True)
    title = models.CharField(max_length=200, blank=True, verbose_name=_("title"))
    notes = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="images")
    # The tag names, space-separated, kept by gallery.services for the search document.
    tag_text = models.TextField(blank=True, editable=False)
    # Private to the owner until shared; an image sits in at most one team library.
    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="images",
        verbose_name=_("team"),
    )
    shared_at = models.DateTimeField(null=True, blank=True)
    # Moderation: a hidden image vanishes for everyone but staff.
    is_hidden = models.BooleanField(default=False, verbose_name=_("hidden"))
    hidden_reason = models.TextField(blank=True)
    search_vector = models.GeneratedField(
        expression=image_search_document(),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("image")
        verbose_name_plural = _("images")
        constraints = [
            # A retried job overwrites its images; it never adds a second row.
            models.UniqueConstraint(fields=["job", "index"], name="image_unique_job_index"),
        ]
        indexes = [
            # A user's gallery and its keyset pages: WHERE owner ORDER BY created_at, id.
            models.Index(fields=["owner", "-created_at", "-id"], name="image_owner_recent"),
            # A team library and its keyset pages.
            models.Index(
                fields=["team", "-created_at", "-id"],
                name="image_team_recent",
                condition=Q(team__isnull=False),
            ),
            # Staff browsing everything, newest first.
            models.Index(fields=["-created_at", "-id"], name="image_recent"),
            # Full-text search (created on PostgreSQL only, see the migration).
            GinIndex(fields=["search_vector"], name="image_search_vector"),
        ]

    def __str__(self) -> str:
        return IMAGE_STR % {"id": self.id, "job": self.job_id}

    @property
    def label(self) -> str:
        return self.title or self.prompt


class SearchTerm(models.Model):
    """Every word that appears in searchable text, for correcting typos by trigram similarity.

    Comparing a misspelt word with a few thousand known words through a trigram
    index is fast at any gallery size; comparing it with every prompt is not.
    """

    word = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        indexes = [
            GinIndex(fields=["word"], name="searchterm_word_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.word


class Favourite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        constraints = [
            models.UniqueConstraint(fields=["user", "image"], name="favourite_unique_user_image"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.image_id}"


class Collection(models.Model):
    """A board of images, personal (owner) or shared by a team (team)."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="collections",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="collections",
        verbose_name=_("team"),
    )
    images: "models.ManyToManyField[Image, CollectionItem]" = models.ManyToManyField(
        Image, through="CollectionItem", related_name="collections"
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("collection")
        verbose_name_plural = _("collections")
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, team__isnull=True)
                | Q(owner__isnull=True, team__isnull=False),
                name="collection_owner_xor_team",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="collection_items")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("collection item")
        verbose_name_plural = _("collection items")
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "image"], name="collectionitem_unique_collection_image"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.image_id} in {self.collection_id}"
