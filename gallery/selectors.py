from __future__ import annotations

import base64
import datetime as dt
import difflib
import re
from dataclasses import dataclass, field

from django.contrib.postgres.lookups import TrigramSimilar
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity
from django.core.exceptions import BadRequest
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import BooleanField, Exists, F, FloatField, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Cast, Length
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from gallery.models import Collection, Favourite, Image, SearchTerm
from gallery.websearch import websearch_parse
from jobs.models import GenerationJob
from moderation.permissions import sees_every_image
from teams.models import Membership

PAGE_SIZE = 48
# Sorting by relevance ranks the newest matches this many deep. Ranking every
# match of a common word reads most of the table (see docs/benchmarks.md).
RELEVANCE_WINDOW = 1000
SORTS = ("newest", "oldest", "relevance")
# Near words the typo correction weighs, nearest first, before asking which are visible.
SUGGESTION_CANDIDATES = 20
# Known words of about the right length that SQLite's typo correction compares, at most.
SQLITE_SUGGESTION_SCAN = 20_000
# Words the typo correction leaves alone: websearch operators and very short words.
_WORD = re.compile(r"(?<![\w\-\"])[a-z]{4,}(?![\w\"])")


@dataclass(frozen=True)
class ImageQuery:
    """What a gallery, team library or collection page asks for; every field optional."""

    q: str = ""
    model: str = ""
    size: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    owner: str = ""
    tag: str = ""
    collection: int | None = None
    favourite: bool = False
    sort: str = "newest"
    cursor: str = ""


@dataclass
class ImagePage:
    images: list[Image]
    next_cursor: str | None
    corrected: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImagePermissions:
    """What one user may do with one image they can see."""

    is_owner: bool
    can_tag: bool
    can_unshare: bool

    @property
    def can_edit(self) -> bool:
        return self.is_owner


def team_ids(*, user) -> QuerySet:
    return Membership.objects.filter(user=user).values("team_id")


def editing_team_ids(*, user) -> QuerySet:
    return Membership.objects.filter(user=user, role__in=Membership.EDITING_ROLES).values("team_id")


def _not_hidden_for(user, images: QuerySet[Image]) -> QuerySet[Image]:
    # Moderation relies on this: hidden images vanish for everyone but staff.
    return images if sees_every_image(user) else images.filter(is_hidden=False)


def image_visible(*, user) -> QuerySet[Image]:
    """Every image the user may see: their own and those shared with their teams; for
    staff (moderation.permissions.sees_every_image), every image, hidden ones too.

    Image pages, image files, search suggestions and bulk downloads all ask this.
    """
    if sees_every_image(user):
        return Image.objects.all()
    images = Image.objects.filter(Q(owner=user) | Q(team__in=team_ids(user=user)))
    return _not_hidden_for(user, images)


def image_list(*, user) -> QuerySet[Image]:
    """A user's own images, newest first."""
    return _not_hidden_for(user, Image.objects.filter(owner=user)).order_by("-created_at", "-id")


def image_model_names(*, user, everything: bool = False) -> list[str]:
    """The models that made the user's images and their teams' shared ones, for the filter;
    with ``everything``, for staff, those of every job."""
    if everything and sees_every_image(user):
        return sorted(
            {name for (name,) in GenerationJob.objects.values_list("model").distinct()},
            key=str.lower,
        )
    # No ORDER BY in a UNION's parts: SQLite refuses them (the models have default orders).
    own = (
        GenerationJob.objects.filter(owner=user, images__isnull=False)
        .order_by()
        .values_list("model")
    )
    shared = Image.objects.filter(team__in=team_ids(user=user)).order_by().values_list("job__model")
    names = {name for (name,) in own.union(shared)}
    return sorted(names, key=str.lower)


def image_get(*, user, image_id: int) -> Image:
    """One image the user may see; 404 otherwise, so ids reveal nothing."""
    return get_object_or_404(
        image_visible(user=user).select_related("job", "owner", "team"), id=image_id
    )


def image_taggable(*, user) -> QuerySet[Image]:
    """Images whose tags the user may change: their own, and their teams' if they edit there."""
    images = Image.objects.filter(Q(owner=user) | Q(team__in=editing_team_ids(user=user)))
    return _not_hidden_for(user, images)


def image_permissions(*, user, image: Image) -> ImagePermissions:
    is_owner = image.owner_id == user.id
    edits_team = (
        image.team_id is not None
        and Membership.objects.filter(
            user=user, team_id=image.team_id, role__in=Membership.EDITING_ROLES
        ).exists()
    )
    return ImagePermissions(
        is_owner=is_owner,
        can_tag=is_owner or edits_team,
        can_unshare=image.team_id is not None and (is_owner or edits_team),
    )


def image_detail_extras(*, user, image: Image) -> dict:
    """Tags, the collections the user can see it in, and whether it is a favourite."""
    return {
        "tags": list(image.tags.all()),
        "collections": list(
            collection_visible(user=user).filter(items__image=image).order_by("name")
        ),
        "is_favourite": Favourite.objects.filter(user=user, image=image).exists(),
    }


def image_urls(image: Image) -> dict[str, str]:
    return {
        "original": default_storage.url(image.original_key),
        "thumbnail": default_storage.url(image.thumbnail_key),
    }


def collection_visible(*, user) -> QuerySet[Collection]:
    return Collection.objects.filter(Q(owner=user) | Q(team__in=team_ids(user=user)))


def collection_get(*, user, collection_id: int) -> Collection:
    """A collection the user may see; 404 otherwise."""
    return get_object_or_404(collection_visible(user=user).select_related("team"), id=collection_id)


def collection_editable(*, user) -> QuerySet[Collection]:
    return Collection.objects.filter(Q(owner=user) | Q(team__in=editing_team_ids(user=user)))


def collection_images(*, collection: Collection) -> QuerySet[Image]:
    """What a collection shows: a team board only holds images still shared with the team."""
    images = Image.objects.filter(collection_items__collection=collection)
    if collection.team_id is not None:
        images = images.filter(team_id=collection.team_id)
    return images


def _encode_cursor(*parts) -> str:
    return base64.urlsafe_b64encode("|".join(map(str, parts)).encode()).decode()


# Largest id a bigint column holds; a larger number in a cursor or a form is refused with
# 400 before it reaches the database (SQLite raises OverflowError on it, a 500).
ID_MAX = 2**63 - 1


def _decode_cursor(cursor: str, sort: str):
    position: float | dt.datetime
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if sort == "relevance":
            position, last_id = float(parts[0]), int(parts[1])
        else:
            position, last_id = dt.datetime.fromisoformat(parts[0]), int(parts[1])
    except (ValueError, IndexError, UnicodeDecodeError):
        raise Http404("This page link is invalid.") from None
    if not -ID_MAX <= last_id <= ID_MAX or position != position:  # NaN is not a position
        raise BadRequest("This page link is invalid.")
    return position, last_id


def _suggestion(word: str, visible: QuerySet[Image]) -> str | None:
    """The known word nearest to ``word`` that occurs in an image the searcher may see.

    The trigram index finds near words among every word ever stored; each is kept only
    if ``visible`` holds an image that matches it, so another user's private prompts
    and notes never surface as a suggestion (nor as the silence of a "known" word).
    """
    nearest = (
        # pg_trgm's % operator, which the trigram index serves.
        SearchTerm.objects.filter(TrigramSimilar(F("word"), word))
        .annotate(similarity=TrigramSimilarity("word", word))
        .order_by("-similarity", "word")
        .values("id")[:SUGGESTION_CANDIDATES]
    )
    word_ref = OuterRef("word")
    # The text index narrows the rows; the word itself must be in their text, since a
    # shared stem ("gardener", "garden") would still let a stranger's word through.
    seen = visible.filter(search_vector=SearchQuery(word_ref, config="english")).filter(
        Q(prompt__icontains=word_ref)
        | Q(revised_prompt__icontains=word_ref)
        | Q(title__icontains=word_ref)
        | Q(notes__icontains=word_ref)
        | Q(tag_text__icontains=word_ref)
    )
    return (
        SearchTerm.objects.filter(id__in=nearest)
        .annotate(similarity=TrigramSimilarity("word", word))
        # A word English search drops ("with", "about") needs no correction.
        .filter(RawSQL("numnode(plainto_tsquery('english', %s)) > 0", [word], BooleanField()))
        .filter(Exists(seen))
        .order_by("-similarity", "word")
        .values_list("word", flat=True)
        .first()
    )


def _search_postgresql(
    images: QuerySet[Image], q: str, *, ranked: bool, visible: QuerySet[Image]
) -> tuple[QuerySet[Image], dict]:
    """Full-text search; a word no visible image contains is swapped for its nearest
    word that one does (``visible``: what the searcher may see)."""
    query = SearchQuery(q, search_type="websearch", config="english")
    corrected: dict[str, str] = {}
    words = list(dict.fromkeys(_WORD.findall(q.lower())))[:5]
    for word in words:
        nearest = _suggestion(word, visible)
        if nearest and nearest != word:
            corrected[word] = nearest
    if corrected:
        fixed = re.sub(r"[a-z]+", lambda m: corrected.get(m.group(0), m.group(0)), q.lower())
        query = query | SearchQuery(fixed, search_type="websearch", config="english")
    images = images.filter(search_vector=query)
    if ranked:
        window = images.order_by("-created_at", "-id").values("id")[:RELEVANCE_WINDOW]
        images = Image.objects.filter(id__in=window).annotate(
            # ts_rank is a float4; as a float8 its value survives the cursor's round trip.
            rank=Cast(SearchRank(F("search_vector"), query), FloatField())
        )
    return images, corrected


def _search(
    images: QuerySet[Image], q: str, *, ranked: bool, visible: QuerySet[Image]
) -> tuple[QuerySet[Image], dict]:
    if connection.vendor == "postgresql":
        return _search_postgresql(images, q, ranked=ranked, visible=visible)
    return _search_sqlite(images, q, visible=visible)


def _text_contains(text: str) -> Q:
    return (
        Q(prompt__icontains=text)
        | Q(revised_prompt__icontains=text)
        | Q(title__icontains=text)
        | Q(notes__icontains=text)
        | Q(tag_text__icontains=text)
    )


def _suggestion_sqlite(word: str, visible: QuerySet[Image]) -> str | None:
    """The known word nearest to ``word`` (difflib's ratio) that a visible image contains."""
    known = (
        SearchTerm.objects.annotate(length=Length("word"))
        .filter(length__range=(len(word) - 2, len(word) + 2))
        .values_list("word", flat=True)[:SQLITE_SUGGESTION_SCAN]
    )
    for near in difflib.get_close_matches(word, list(known), n=10, cutoff=0.75):
        if visible.filter(_text_contains(near)).exists():
            return near
    return None


def _search_sqlite(
    images: QuerySet[Image], q: str, *, visible: QuerySet[Image]
) -> tuple[QuerySet[Image], dict]:
    """The embedded SQLite default: the search box's syntax (gallery.websearch) as substring
    matches, no ranking; a word no visible image contains is also tried as its nearest
    known word that one does, as on PostgreSQL."""
    parsed = websearch_parse(q)
    corrected: dict[str, str] = {}
    words = [text for group in parsed.required for text in group if _WORD.fullmatch(text)]
    for word in list(dict.fromkeys(words))[:5]:
        if not visible.filter(_text_contains(word)).exists():
            nearest = _suggestion_sqlite(word, visible)
            if nearest and nearest != word:
                corrected[word] = nearest
    condition = Q()
    for group in parsed.required:
        either = Q()
        for text in group:
            either |= _text_contains(text)
            if text in corrected:
                either |= _text_contains(corrected[text])
        condition &= either
    for text in parsed.excluded:
        condition &= ~_text_contains(text)
    return images.filter(condition), corrected


def search_syntax() -> dict:
    """What the search box understands on this database, for the help beside it."""
    if connection.vendor == "postgresql":
        note = gettext(
            "Words match their other forms (boat finds boats); a misspelt word is also"
            " searched as the nearest word in your images."
        )
    else:
        note = gettext(
            "Words match anywhere in prompts, titles, notes and tags, also inside longer"
            " words; a misspelt word is also searched as the nearest word in your images."
            " Sorting by relevance needs PostgreSQL (newest first here)."
        )
    return {
        "examples": [
            # Translators: example searches; keep the quotes, the minus sign and "or".
            (gettext("lighthouse fog"), gettext("both words")),
            (gettext('"quiet harbour"'), gettext("the exact phrase")),
            (gettext("-night"), gettext("without the word")),
            (gettext("kite or gull"), gettext("either word")),
        ],
        "note": note,
    }


def _filter(images: QuerySet[Image], *, user, query: ImageQuery) -> QuerySet[Image]:
    if query.model:
        images = images.filter(job__model=query.model)
    if query.size:
        width, _, height = query.size.partition("x")
        if width.isdigit() and height.isdigit():
            images = images.filter(width=int(width), height=int(height))
        else:
            images = images.none()
    if query.date_from:
        images = images.filter(created_at__date__gte=query.date_from)
    if query.date_to:
        images = images.filter(created_at__date__lte=query.date_to)
    if query.owner:
        images = images.filter(owner__username=query.owner)
    if query.tag:
        images = images.filter(tags__name=query.tag.lower())
    if query.collection:
        collection = collection_get(user=user, collection_id=query.collection)
        images = images.filter(id__in=collection_images(collection=collection).values("id"))
    if query.favourite:
        images = images.filter(Exists(Favourite.objects.filter(user=user, image=OuterRef("pk"))))
    return images


def image_search(
    *,
    user,
    query: ImageQuery,
    team=None,
    collection: Collection | None = None,
    everything: bool = False,
    limit: int = PAGE_SIZE,
) -> ImagePage:
    """One keyset page of images, searched, filtered and sorted.

    The scope is the user's own images; or a team's library when ``team`` is
    given (the user must be a member); or a collection the caller got from
    ``collection_get``, as far as the user can see its images; or every image,
    for staff, when ``everything`` is set. Pages continue from a cursor on (created_at, id), or
    (rank, id) when sorted by relevance, so page 500 costs what page 1 does.
    """
    if team is not None:
        images = Image.objects.filter(team=team, team__in=team_ids(user=user))
    elif collection is not None:
        images = collection_images(collection=collection).filter(
            Q(owner=user) | Q(team__in=team_ids(user=user))
        )
    elif everything and sees_every_image(user):
        images = Image.objects.all()
    else:
        images = Image.objects.filter(owner=user)
    images = _not_hidden_for(user, images)
    images = _filter(images, user=user, query=query)
    corrected: dict[str, str] = {}
    sort = query.sort if query.sort in SORTS else "newest"
    if query.q.strip():
        images, corrected = _search(
            images, query.q.strip(), ranked=sort == "relevance", visible=image_visible(user=user)
        )
    if sort == "relevance" and "rank" not in images.query.annotations:
        sort = "newest"

    if sort == "relevance":
        order = ("-rank", "-id")
    elif sort == "oldest":
        order = ("created_at", "id")
    else:
        order = ("-created_at", "-id")
    if query.cursor:
        # A row comparison, (created_at, id) < (…, …), is one range on the index;
        # the equivalent OR of two conditions is not.
        position = Tuple(F(order[0].lstrip("-")), F("id"))
        after = TupleGreaterThan if sort == "oldest" else TupleLessThan
        images = images.filter(after(position, _decode_cursor(query.cursor, sort)))
    rows = list(images.select_related("owner").defer("search_vector").order_by(*order)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        if sort == "relevance":
            # A queryset annotation made by the search; sorting by relevance requires it (above).
            last_key = repr(last.rank)  # type: ignore[attr-defined]
        else:
            last_key = last.created_at.isoformat()
        next_cursor = _encode_cursor(last_key, last.id)
    return ImagePage(images=rows, next_cursor=next_cursor, corrected=corrected)


def image_refusals(*, user, images: list[Image], needs: str, team=None) -> list[str]:
    """Why the user may not apply an action to each of ``images``, one line per image.

    ``needs`` is what the action asks of each image: "owner" (delete, share), "editor"
    (tag, remove from team: their own or their team's, with the editor role there) or
    "team" (a team collection: their own or already shared with ``team``).
    """
    roles = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
    lines = []
    for image in images:
        owner = image.owner.get_username()
        name = gettext("“%(label)s” (image %(id)s)") % {"label": image.label[:40], "id": image.id}
        if needs == "team" and team is not None:
            reason = gettext("%(owner)s owns it and it is not shared with %(team)s") % {
                "owner": owner,
                "team": team.name,
            }
        elif needs != "owner" and image.team is not None and image.team_id in roles:
            role = Membership.Role(roles[image.team_id]).label.lower()
            reason = gettext("%(owner)s owns it and you are a %(role)s in %(team)s") % {
                "owner": owner,
                "role": role,
                "team": image.team.name,
            }
        else:
            reason = gettext("%(owner)s owns it") % {"owner": owner}
        lines.append(f"{name}: {reason}")
    return lines


def image_tiles(*, images: list[Image]) -> list[tuple[Image, dict[str, str]]]:
    return [(image, image_urls(image)) for image in images]
