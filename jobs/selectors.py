from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from gallery.models import Image
from jobs.models import GenerationJob


def job_list(*, user, limit: int = 20) -> QuerySet[GenerationJob]:
    images = Image.objects.order_by("index")
    return (
        GenerationJob.objects.filter(owner=user)
        .prefetch_related(Prefetch("images", queryset=images))
        .order_by("-created_at")[:limit]
    )


def job_get(*, user, job_id) -> GenerationJob:
    """A job the user owns; 404 for anyone else's."""
    return get_object_or_404(
        GenerationJob.objects.prefetch_related(
            Prefetch("images", queryset=Image.objects.order_by("index"))
        ),
        id=job_id,
        owner=user,
    )
