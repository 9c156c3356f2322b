"""Models as the API shows them."""

from django.conf import settings

from gallery import selectors as gallery
from gallery.models import Collection, Image
from jobs.models import GenerationJob
from teams.models import Membership


def job_out(job: GenerationJob) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "model": job.model,
        "prompt": job.prompt,
        "params": job.params,
        "progress": job.progress,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "response_text": job.response_text,
        "cost_usd": job.cost_usd,
        "parent_id": job.parent_id,
        "source_image_id": job.source_image_id,
        # Midjourney's buttons (U1, V2 …), for POST /jobs/{id}/actions.
        "actions": [
            {"custom_id": b.get("custom_id", ""), "label": b.get("label") or b.get("emoji") or ""}
            for b in job.provider_actions or []
            if isinstance(b, dict)
        ],
        # Prefetched by the selectors: hidden images are left out.
        "images": [
            {"id": i.id, "index": i.index, "width": i.width, "height": i.height}
            for i in job.images.all()
        ],
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def image_out(image: Image) -> dict:
    urls = gallery.image_urls(image)
    return {
        "id": image.id,
        "job_id": image.job_id,
        "index": image.index,
        "owner": image.owner.get_username(),
        "team_id": image.team_id,
        "prompt": image.prompt,
        "revised_prompt": image.revised_prompt,
        "title": image.title,
        "notes": image.notes,
        "width": image.width,
        "height": image.height,
        "format": image.format,
        "bytes": image.bytes,
        "created_at": image.created_at,
        "links": {**urls, "expires_in": settings.SIGNED_URL_MAX_AGE},
    }


def image_detail_out(*, user, image: Image) -> dict:
    extras = gallery.image_detail_extras(user=user, image=image)
    can = gallery.image_permissions(user=user, image=image)
    return {
        **image_out(image),
        "tags": [tag.name for tag in extras["tags"]],
        "collection_ids": [collection.id for collection in extras["collections"]],
        "is_favourite": extras["is_favourite"],
        "permissions": {
            "is_owner": can.is_owner,
            "can_tag": can.can_tag,
            "can_unshare": can.can_unshare,
        },
    }


def page_out(page: gallery.ImagePage) -> dict:
    return {
        "images": [image_out(image) for image in page.images],
        "next_cursor": page.next_cursor,
        "corrected": page.corrected,
    }


def collection_out(collection: Collection) -> dict:
    return {
        "id": collection.id,
        "name": collection.name,
        "team_id": collection.team_id,
        "created_at": collection.created_at,
    }


def team_out(membership: Membership) -> dict:
    return {"id": membership.team_id, "name": membership.team.name, "role": membership.role}
