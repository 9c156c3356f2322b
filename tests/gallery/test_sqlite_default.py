"""The embedded default runs on SQLite: the search schema must migrate and answer there too."""

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import embedded_default_env

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from gallery.models import Image
    from gallery.selectors import ImageQuery, image_search
    from gallery.services import image_tags_add
    from jobs.models import GenerationJob

    assert connection.vendor == "sqlite"
    user = get_user_model().objects.create(username="solo")
    job = GenerationJob.objects.create(
        owner=user, provider="demo", connection="demo", model="demo", prompt="A lighthouse in fog"
    )
    image = Image.objects.create(
        owner=user, job=job, index=0, width=1, height=1, bytes=1, prompt=job.prompt
    )
    image_tags_add(images=[image], names=["hero"])
    found = image_search(user=user, query=ImageQuery(q="LIGHTHOUSE hero", sort="relevance"))
    missed = image_search(user=user, query=ImageQuery(q="harbour"))
    print([i.id for i in found.images], [i.id for i in missed.images])
    """
)


def test_it_migrates_and_searches_on_the_embedded_sqlite_default(tmp_path):
    env = embedded_default_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[1] []"
