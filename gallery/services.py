from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gallery.imaging import image_accept, make_thumbnail
from gallery.models import Collection, CollectionItem, Favourite, Image, SearchTerm, Tag
from teams.models import Membership

_TERM = re.compile(r"[a-z]{3,64}")
_TAG = re.compile(r"^[\w\- ]{1,50}$")


def image_keys(*, job_id, index: int, extension: str) -> tuple[str, str]:
    """Keys derive from the job and index, so a retry overwrites instead of duplicating."""
    return f"originals/{job_id}/{index}.{extension}", f"thumbnails/{job_id}/{index}.webp"


def search_terms_add(*, texts: Iterable[str]) -> None:
    """Remember the words of searchable text, so that misspelt searches can be corrected."""
    words: set[str] = set()
    for text in texts:
        words.update(_TERM.findall(text.lower()))
    if not words:
        return
    # One statement, not bulk_create's BEGIN, INSERT, COMMIT: the CPU stage runs this for
    # every image it stores.
    table = connection.ops.quote_name(SearchTerm._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (word) SELECT unnest(%s::varchar[]) ON CONFLICT DO NOTHING",
                [sorted(words)],
            )
        return
    # SQLite: one transaction for all of them (one write lock, not one per word).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT OR IGNORE INTO {table} (word) VALUES (%s)", [(w,) for w in sorted(words)]
        )


def image_store(*, job, index: int, data: bytes, revised_prompt: str = "") -> Image:
    """Verify one generated image, write it and its thumbnail, and record it.

    Raises ``gallery.imaging.InvalidImage`` for bad bytes and storage errors
    (OSError, botocore errors) when the storage cannot be written.
    """
    data, info = image_accept(data)
    original_key, thumbnail_key = image_keys(job_id=job.id, index=index, extension=info.extension)
    thumbnail = make_thumbnail(data)
    default_storage.save(original_key, ContentFile(data))
    default_storage.save(thumbnail_key, ContentFile(thumbnail))
    fields = {
        "owner_id": job.owner_id,
        "original_key": original_key,
        "thumbnail_key": thumbnail_key,
        "width": info.width,
        "height": info.height,
        "format": info.format,
        "bytes": info.bytes,
        "sha256": info.sha256,
        "prompt": job.prompt,
        "revised_prompt": revised_prompt,
    }
    image = _image_insert(job=job, index=index, fields=fields)
    search_terms_add(texts=[job.prompt, revised_prompt])
    return image


def _image_insert(*, job, index: int, fields: dict) -> Image:
    """The image's row: one INSERT (the CPU stage writes one per image, so update_or_create's
    transaction, lock and savepoint are six round trips too many), or, when an earlier
    attempt already wrote it, that row updated."""
    if not connection.in_atomic_block:
        try:
            return Image.objects.create(job=job, index=index, **fields)
        except IntegrityError:
            pass  # written by an earlier attempt: update it below
    image, _created = Image.objects.update_or_create(job=job, index=index, defaults=fields)
    return image


def image_update(*, image: Image, title: str, notes: str) -> Image:
    image.title = title
    image.notes = notes
    image.save(update_fields=["title", "notes"])
    search_terms_add(texts=[title, notes])
    return image


def tag_names_clean(*, text: str) -> list[str]:
    """Comma-separated tag names, lower-cased; raises ValidationError for odd characters."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    for name in names:
        if not _TAG.match(name):
            raise ValidationError(f"“{name}” is not a valid tag (letters, digits, - and spaces).")
    return list(dict.fromkeys(names))


def _tag_text_refresh(image_ids: list[int]) -> None:
    # The search document reads tag names from a column of the image row itself.
    names: dict[int, list[str]] = {image_id: [] for image_id in image_ids}
    for image_id, name in Image.tags.through.objects.filter(image_id__in=image_ids).values_list(
        "image_id", "tag__name"
    ):
        names[image_id].append(name)
    Image.objects.bulk_update(
        [Image(id=image_id, tag_text=" ".join(sorted(tags))) for image_id, tags in names.items()],
        ["tag_text"],
    )


@transaction.atomic
def image_tags_add(*, images: Iterable[Image], names: list[str]) -> None:
    image_ids = [image.id for image in images]
    if not names or not image_ids:
        return
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    tags = list(Tag.objects.filter(name__in=names))
    Through = Image.tags.through
    Through.objects.bulk_create(
        [Through(image_id=image_id, tag=tag) for image_id in image_ids for tag in tags],
        ignore_conflicts=True,
    )
    _tag_text_refresh(image_ids)
    search_terms_add(texts=names)


@transaction.atomic
def image_tag_remove(*, image: Image, name: str) -> None:
    Image.tags.through.objects.filter(image=image, tag__name=name).delete()
    _tag_text_refresh([image.id])


def image_favourite_toggle(*, user, image: Image) -> bool:
    """Marks or unmarks a favourite; returns whether it is one now."""
    deleted, _ = Favourite.objects.filter(user=user, image=image).delete()
    if deleted:
        return False
    Favourite.objects.get_or_create(user=user, image=image)
    return True


def image_share(*, user, images: Iterable[Image], team) -> int:
    """Puts the user's own images in a team library; they must be allowed to add to it."""
    if not Membership.objects.filter(
        user=user, team=team, role__in=Membership.EDITING_ROLES
    ).exists():
        raise ValidationError(_("Only a team's owners and editors can add to its library."))
    ids = [image.id for image in images if image.owner_id == user.id]
    return Image.objects.filter(id__in=ids).update(team=team, shared_at=timezone.now())


@transaction.atomic
def image_unshare(*, images: Iterable[Image]) -> int:
    """Takes images out of their team library, and out of that team's collections."""
    shared = [(image, image.team_id) for image in images if image.team_id is not None]
    for image, team_id in shared:
        CollectionItem.objects.filter(image=image, collection__team_id=team_id).delete()
    return Image.objects.filter(id__in=[image.id for image, _ in shared]).update(
        team=None, shared_at=None
    )


def image_delete(*, images: Iterable[Image]) -> int:
    """Deletes images and their stored objects.

    Objects go first: if storage fails, the rows stay and the user can try again
    (deleting a missing object succeeds), rather than rows vanishing while the
    files linger in the bucket.
    """
    images = list(images)
    for image in images:
        for key in (image.original_key, image.thumbnail_key):
            default_storage.delete(key)
    deleted, _ = Image.objects.filter(id__in=[image.id for image in images]).delete()
    return len(images) if deleted else 0


def _collection_name_check(*, name: str, owner=None, team=None, exclude_id=None) -> str:
    """The name, stripped; refused when the same owner (or team) has one so named."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Give the collection a name.")]})
    same = Collection.objects.filter(name__iexact=name).exclude(id=exclude_id)
    same = same.filter(team=team) if team is not None else same.filter(owner=owner)
    if same.exists():
        if team is not None:
            message = gettext("%(team)s already has a collection called “%(name)s”.") % {
                "team": team.name,
                "name": name,
            }
        else:
            message = gettext("You already have a collection called “%(name)s”.") % {"name": name}
        raise ValidationError({"name": [message]})
    return name


def collection_create(*, user, name: str, team=None) -> Collection:
    if team is not None:
        if not Membership.objects.filter(
            user=user, team=team, role__in=Membership.EDITING_ROLES
        ).exists():
            raise ValidationError(_("Only a team's owners and editors can make team collections."))
        name = _collection_name_check(name=name, team=team)
        return Collection.objects.create(name=name, team=team)
    name = _collection_name_check(name=name, owner=user)
    return Collection.objects.create(name=name, owner=user)


def collection_rename(*, collection: Collection, name: str) -> None:
    collection.name = _collection_name_check(
        name=name, owner=collection.owner, team=collection.team, exclude_id=collection.id
    )
    collection.save(update_fields=["name"])


def collection_add(*, user, collection: Collection, images: Iterable[Image]) -> int:
    """Adds images to a collection; a team collection only takes the team's images.

    The owner's own images are shared with the team as they are added.
    """
    images = list(images)
    if collection.team_id is not None:
        own = [i for i in images if i.owner_id == user.id and i.team_id != collection.team_id]
        if own:
            image_share(user=user, images=own, team=collection.team)
            for image in own:
                image.team_id = collection.team_id
        if any(image.team_id != collection.team_id for image in images):
            raise ValidationError(_("A team collection only holds images shared with the team."))
    CollectionItem.objects.bulk_create(
        [CollectionItem(collection=collection, image=image, added_by=user) for image in images],
        ignore_conflicts=True,
    )
    return len(images)


def collection_remove(*, collection: Collection, images: Iterable[Image]) -> None:
    CollectionItem.objects.filter(collection=collection, image__in=list(images)).delete()


def collection_delete(*, collection: Collection) -> None:
    collection.delete()
