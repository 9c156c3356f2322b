"""The benchmark's seeding runs on a few hundred rows, so the script cannot rot unnoticed.

No timings here: the benchmark itself runs by hand (see docs/benchmarks.md).
"""

import importlib.util
import sys
from pathlib import Path

from django.db import connection

from gallery.models import Image, SearchTerm
from gallery.selectors import ImageQuery, image_search
from jobs.models import GenerationJob
from teams.models import Membership, Team

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gallery_bench.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("gallery_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_it_seeds_images_that_the_gallery_can_search(db, alice):
    bench = load_bench()
    plan = bench.Plan.for_images(200)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        counts = bench.seed(cursor=cursor, plan=plan)
    assert counts["images"] == Image.objects.count() == 200
    assert counts["jobs"] == GenerationJob.objects.count() == 100
    assert Team.objects.count() == plan.teams
    assert Membership.objects.count() == plan.users
    assert SearchTerm.objects.filter(word="forest").exists()
    owner = Image.objects.order_by("id").first().owner
    page = image_search(user=owner, query=ImageQuery(q=owner.images.first().prompt.split()[0]))
    assert page.images
    # Sequences continue after the seeded ids, so the app can add rows afterwards.
    assert Image.objects.create(
        owner=alice, job=GenerationJob.objects.first(), index=9, width=1, height=1, bytes=1
    ).id > max(Image.objects.exclude(owner=alice).values_list("id", flat=True))
