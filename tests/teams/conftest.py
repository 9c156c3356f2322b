from gallery.models import Image
from tests.gallery.conftest import bob_edits, make_image, team  # noqa: F401


def image_in_team(job, library_team, *, index: int = 0) -> Image:
    """An image row of ``job`` shared to ``library_team``: work done in that team."""
    return Image.objects.create(
        owner_id=job.owner_id,
        job=job,
        index=index,
        original_key=f"originals/{job.id}/{index}.png",
        thumbnail_key=f"thumbnails/{job.id}/{index}.webp",
        width=64,
        height=64,
        format="PNG",
        bytes=100,
        sha256=job.id.hex * 2,
        prompt=job.prompt,
        team=library_team,
    )
