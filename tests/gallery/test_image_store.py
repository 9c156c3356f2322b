"""image_store writes one row per job image, however often a CPU-stage attempt repeats it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gallery.models import Image
from gallery.services import image_store
from tests.factories import GenerationJobFactory
from tests.gallery.conftest import png

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_repeated_store_updates_the_one_row_it_wrote(s3):
    job = GenerationJobFactory(prompt="a kite over dunes")

    first = image_store(job=job, index=0, data=png(colour=(10, 20, 30)))
    again = image_store(job=job, index=0, data=png(width=80, colour=(10, 20, 30)))

    assert again.id == first.id
    assert Image.objects.filter(job=job).count() == 1
    assert Image.objects.get(job=job).width == 80


def test_outside_a_transaction_the_row_is_one_insert(s3):
    job = GenerationJobFactory(prompt="a kite over dunes")

    with CaptureQueriesContext(connection) as queries:
        image_store(job=job, index=0, data=png())

    image_writes = [q["sql"] for q in queries if "gallery_image" in q["sql"]]
    assert len(image_writes) == 1 and image_writes[0].startswith("INSERT")
