"""The embedded SQLite default understands the search box as PostgreSQL does: phrases in
quotes, -word, "or", and a misspelt word (gallery.websearch, gallery.selectors._search_sqlite)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gallery import selectors
from gallery.selectors import ImageQuery, image_search, search_syntax
from gallery.websearch import WebQuery, websearch_parse
from tests.support import embedded_default_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "required", "excluded"),
    [
        ("lighthouse fog", [("lighthouse",), ("fog",)], []),
        ('"Quiet  Harbour" boats', [("quiet harbour",), ("boats",)], []),
        ("red -bus", [("red",)], ["bus"]),
        ('red -"double decker"', [("red",)], ["double decker"]),
        ("kite or gull sea", [("kite", "gull"), ("sea",)], []),
        ("kite OR gull OR tern", [("kite", "gull", "tern")], []),
        ("or kite or", [("kite",)], []),
        ('"unclosed phrase', [("unclosed phrase",)], []),
        ("well-lit - -- room", [("well-lit",), ("room",)], []),
        ('"or"', [("or",)], []),
        ("lighthouse, fog. (dusk) bob's", [("lighthouse",), ("fog",), ("dusk",), ("bob's",)], []),
        ("-(night)", [], ["night"]),
        ("", [], []),
    ],
)
def test_it_parses_the_search_box_like_websearch(text, required, excluded):
    assert websearch_parse(text) == WebQuery(required=required, excluded=excluded)


class SQLite:
    vendor = "sqlite"


@pytest.fixture
def on_sqlite(monkeypatch):
    """The SQLite branch of the search, run against the suite's database."""
    monkeypatch.setattr(selectors, "connection", SQLite())


def ids(user, q):
    return {image.id for image in image_search(user=user, query=ImageQuery(q=q)).images}


def test_quotes_match_the_phrase_not_the_words_apart(alice, make_image, on_sqlite):
    red_car = make_image(alice, "a red car on a bridge")
    make_image(alice, "a car painted red")
    assert ids(alice, '"red car"') == {red_car.id}
    assert len(ids(alice, "red car")) == 2


def test_a_minus_word_leaves_out_images_that_contain_it(alice, make_image, on_sqlite):
    red_car = make_image(alice, "a red car on a bridge")
    make_image(alice, "a red bus in the rain")
    assert ids(alice, "red -bus") == {red_car.id}
    assert ids(alice, '-"red bus"') == {red_car.id}


def test_or_finds_either_word(alice, make_image, on_sqlite):
    car = make_image(alice, "a red car on a bridge")
    bus = make_image(alice, "a red bus in the rain")
    make_image(alice, "a blue boat")
    assert ids(alice, "bus or bridge") == {car.id, bus.id}


def test_a_misspelt_word_is_also_searched_as_the_nearest_visible_word(
    alice, bob, make_image, on_sqlite
):
    mountain = make_image(alice, "a mountain lake under stars")
    make_image(bob, "bob's private fountain")
    page = image_search(user=alice, query=ImageQuery(q="mountian"))
    assert [image.id for image in page.images] == [mountain.id]
    assert page.corrected == {"mountian": "mountain"}


def test_a_word_in_a_visible_image_is_not_corrected(alice, make_image, on_sqlite):
    make_image(alice, "a mountain lake under stars")
    assert image_search(user=alice, query=ImageQuery(q="mountain")).corrected == {}


def test_bobs_words_are_never_offered_to_alice(alice, bob, make_image, on_sqlite):
    make_image(alice, "a quiet meadow")
    make_image(bob, "bob's secret fountain")
    assert image_search(user=alice, query=ImageQuery(q="fountian")).corrected == {}


def test_the_page_says_what_the_search_understands_on_each_database(on_sqlite):
    sqlite = search_syntax()
    assert [example for example, _ in sqlite["examples"]] == [
        "lighthouse fog",
        '"quiet harbour"',
        "-night",
        "kite or gull",
    ]
    assert "inside longer words" in sqlite["note"]


SCRIPT = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from gallery.models import Image
    from gallery.selectors import ImageQuery, image_search
    from gallery.services import search_terms_add
    from jobs.models import GenerationJob

    assert connection.vendor == "sqlite"
    user = get_user_model().objects.create(username="solo")
    made = {}
    for name, prompt in [
        ("red_car", "A red car on a bridge"),
        ("red_bus", "A red bus in the rain"),
        ("mountain", "A mountain lake under stars"),
    ]:
        job = GenerationJob.objects.create(
            owner=user, provider="demo", connection="demo", model="demo", prompt=prompt
        )
        made[name] = Image.objects.create(
            owner=user, job=job, index=0, width=1, height=1, bytes=1, prompt=prompt
        ).id
        search_terms_add(texts=[prompt])
    names = {v: k for k, v in made.items()}
    def run(q):
        page = image_search(user=user, query=ImageQuery(q=q))
        return {"found": sorted(names[i.id] for i in page.images), "corrected": page.corrected}
    print(json.dumps({q: run(q) for q in ['"red car"', "red -bus", "bus or bridge", "mountian"]}))
    """
)


def test_on_a_real_sqlite_database_quotes_minus_or_and_typos_work(tmp_path):
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
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        '"red car"': {"found": ["red_car"], "corrected": {}},
        "red -bus": {"found": ["red_car"], "corrected": {}},
        "bus or bridge": {"found": ["red_bus", "red_car"], "corrected": {}},
        "mountian": {"found": ["mountain"], "corrected": {"mountian": "mountain"}},
    }
