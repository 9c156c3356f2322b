import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field

from gallery.selectors import ID_MAX

# A row id: a number no id column holds is refused (422) before it reaches the database.
Id = Annotated[int, Field(ge=1, le=ID_MAX)]


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None
    # Set on refusals a script acts on: rate_limited, quota_exhausted, prompt_refused, …
    code: str | None = None


class ImageBrief(Schema):
    id: int
    index: int
    width: int
    height: int


class Job(Schema):
    id: uuid.UUID
    kind: str
    status: str
    model: str
    prompt: str
    params: dict
    progress: str
    error_code: str
    error_message: str
    response_text: str
    cost_usd: Decimal | None
    parent_id: uuid.UUID | None
    source_image_id: int | None
    actions: list[dict]
    images: list[ImageBrief]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class JobPage(Schema):
    jobs: list[Job]
    next_cursor: str | None


class Links(Schema):
    original: str
    thumbnail: str
    expires_in: int


class Image(Schema):
    id: int
    job_id: uuid.UUID
    index: int
    owner: str
    team_id: int | None
    prompt: str
    revised_prompt: str
    title: str
    notes: str
    width: int
    height: int
    format: str
    bytes: int
    created_at: dt.datetime
    links: Links


class Permissions(Schema):
    is_owner: bool
    can_tag: bool
    can_unshare: bool


class ImageDetail(Image):
    tags: list[str]
    collection_ids: list[int]
    is_favourite: bool
    permissions: Permissions


class ImagePage(Schema):
    images: list[Image]
    next_cursor: str | None
    corrected: dict[str, str]


class Collection(Schema):
    id: int
    name: str
    team_id: int | None
    created_at: dt.datetime


class Team(Schema):
    id: int
    name: str
    role: str


class GenerateIn(Schema):
    """A text-to-image request: any model the studio offers, Midjourney's imagine included."""

    model: str
    prompt: str = ""
    size: str | None = None
    n: int | None = None
    quality: str | None = None
    style: str | None = None
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    moderation: str | None = None
    partial_images: int | None = None
    seed: int | None = None
    # Sending the same token twice makes one job: the second answer is the first job.
    submit_token: uuid.UUID | None = None


class VariationIn(Schema):
    image_id: Id
    model: str | None = None


class ActionIn(Schema):
    custom_id: str


class TagsIn(Schema):
    tags: str


class ImageUpdateIn(Schema):
    title: str | None = None
    notes: str | None = None


class CollectIn(Schema):
    collection_id: Id


class ShareIn(Schema):
    team_id: Id


class CollectionIn(Schema):
    name: str
    team_id: Id | None = None


class CollectionRenameIn(Schema):
    name: str


class ImageIdsIn(Schema):
    image_ids: list[Id]


class Favourite(Schema):
    is_favourite: bool


class Done(Schema):
    done: bool
