"""Searching, filtering, sorting and paging the gallery (gallery.selectors.image_search)."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from gallery import selectors
from gallery.models import Collection, CollectionItem, Favourite, Image
from gallery.selectors import ImageQuery, image_search
from gallery.services import image_tags_add, image_update


def ids(page):
    return [image.id for image in page.images]


def search(user, **kwargs):
    scope = {key: kwargs.pop(key) for key in ("team", "everything") if key in kwargs}
    if "in_collection" in kwargs:
        scope["collection"] = kwargs.pop("in_collection")
    limit = kwargs.pop("limit", 48)
    return image_search(user=user, query=ImageQuery(**kwargs), limit=limit, **scope)


def test_it_finds_words_in_the_prompt_with_stemming(alice, make_image):
    boats = make_image(alice, "Fishing boats in a harbour")
    make_image(alice, "A desert at noon")
    assert ids(search(alice, q="boat")) == [boats.id]


@pytest.mark.parametrize("field", ["revised_prompt", "title", "notes"])
def test_it_finds_words_in_every_text_field(alice, make_image, field):
    image = make_image(alice, "an untitled study")
    Image.objects.filter(id=image.id).update(**{field: "lighthouse keeper"})
    assert ids(search(alice, q="lighthouse")) == [image.id]


def test_it_finds_tags_and_forgets_removed_ones(alice, make_image):
    from gallery.services import image_tag_remove

    image = make_image(alice, "an untitled study")
    image_tags_add(images=[image], names=["moodboard", "client"])
    assert ids(search(alice, q="moodboard")) == [image.id]
    assert ids(search(alice, tag="client")) == [image.id]
    image_tag_remove(image=image, name="moodboard")
    assert ids(search(alice, q="moodboard")) == []


def test_it_understands_websearch_syntax(alice, make_image):
    red_car = make_image(alice, "a red car on a bridge")
    red_bus = make_image(alice, "a red bus in the rain")
    make_image(alice, "a blue car parked")
    assert set(ids(search(alice, q="red -bus"))) == {red_car.id}
    assert set(ids(search(alice, q='"red car"'))) == {red_car.id}
    assert set(ids(search(alice, q="bus or bridge"))) == {red_car.id, red_bus.id}


def test_it_corrects_a_misspelt_word_by_trigram_similarity(alice, make_image):
    mountain = make_image(alice, "a mountain lake under stars")
    make_image(alice, "a city street at night")
    page = search(alice, q="mountian")
    assert ids(page) == [mountain.id]
    assert page.corrected == {"mountian": "mountain"}


def test_it_leaves_correct_words_alone(alice, make_image):
    make_image(alice, "a mountain lake under stars")
    assert search(alice, q="mountain").corrected == {}


def test_the_sqlite_fallback_matches_substrings(alice, make_image, monkeypatch):
    class SQLite:
        vendor = "sqlite"

    harbour = make_image(alice, "Fishing boats in a harbour")
    make_image(alice, "A desert at noon")
    image_update(image=harbour, title="Morning catch", notes="")
    monkeypatch.setattr(selectors, "connection", SQLite())
    assert ids(search(alice, q="BOATS catch")) == [harbour.id]
    assert ids(search(alice, q="boats noon")) == []


def test_it_searches_only_the_users_own_images(alice, bob, make_image):
    make_image(bob, "bob's lighthouse")
    assert ids(search(alice, q="lighthouse")) == []


def test_it_filters_by_model_size_and_owner(alice, bob, team, make_image):
    big = make_image(alice, "a", model="gpt-image-1", width=1536, height=1024, team=team)
    make_image(alice, "b", model="dall-e-3", width=1024, height=1024, team=team)
    bobs = make_image(bob, "c", model="dall-e-3", width=1536, height=1024, team=team)
    assert ids(search(alice, model="gpt-image-1")) == [big.id]
    assert ids(search(alice, size="1536x1024")) == [big.id]
    assert ids(search(alice, team=team, owner="bob")) == [bobs.id]
    assert ids(search(alice, size="wide")) == []


def test_it_filters_by_date_range(alice, make_image):
    old = make_image(alice, "old")
    new = make_image(alice, "new")
    Image.objects.filter(id=old.id).update(created_at=timezone.now() - dt.timedelta(days=40))
    today = timezone.now().date()
    assert ids(search(alice, date_from=today - dt.timedelta(days=1))) == [new.id]
    assert ids(search(alice, date_to=today - dt.timedelta(days=30))) == [old.id]


def test_it_filters_by_favourite_and_collection(alice, make_image):
    loved = make_image(alice, "loved")
    boarded = make_image(alice, "boarded")
    make_image(alice, "plain")
    Favourite.objects.create(user=alice, image=loved)
    board = Collection.objects.create(name="Board", owner=alice)
    CollectionItem.objects.create(collection=board, image=boarded)
    assert ids(search(alice, favourite=True)) == [loved.id]
    assert ids(search(alice, collection=board.id)) == [boarded.id]


def test_charlie_gets_404_for_filtering_by_alices_collection(alice, charlie, make_image):
    board = Collection.objects.create(name="Board", owner=alice)
    with pytest.raises(Http404):
        search(charlie, collection=board.id)


def test_it_sorts_newest_oldest_and_by_relevance(alice, make_image):
    once = make_image(alice, "a forest path")
    twice = make_image(alice, "forest upon forest, a forest")
    Image.objects.filter(id=once.id).update(created_at=timezone.now() + dt.timedelta(hours=1))
    assert ids(search(alice, q="forest")) == [once.id, twice.id]
    assert ids(search(alice, q="forest", sort="oldest")) == [twice.id, once.id]
    assert ids(search(alice, q="forest", sort="relevance")) == [twice.id, once.id]


def test_relevance_without_words_falls_back_to_newest(alice, make_image):
    first = make_image(alice, "first")
    second = make_image(alice, "second")
    assert ids(search(alice, sort="relevance")) == [second.id, first.id]


@pytest.mark.parametrize("sort", ["newest", "oldest", "relevance"])
def test_keyset_pages_cover_every_image_once_even_with_equal_timestamps(alice, make_image, sort):
    made = [make_image(alice, f"forest {'forest ' * (n % 3)}study {n}") for n in range(11)]
    # Several images share a timestamp: the cursor's id must break the tie.
    same = timezone.now()
    Image.objects.filter(id__in=[m.id for m in made[:6]]).update(created_at=same)
    seen, cursor = [], ""
    for _ in range(10):
        page = search(alice, q="forest", sort=sort, cursor=cursor, limit=4)
        seen += ids(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(m.id for m in made)
    assert len(seen) == len(set(seen))


def test_a_forged_cursor_is_a_404(alice, make_image):
    make_image(alice)
    with pytest.raises(Http404):
        search(alice, cursor="not-a-cursor")


def test_hidden_images_vanish_from_every_listing_for_non_staff(
    alice, bob, team, make_image, django_user_model
):
    hidden = make_image(alice, "a hidden lighthouse", team=team, is_hidden=True)
    board = Collection.objects.create(name="Team board", team=team)
    CollectionItem.objects.create(collection=board, image=hidden)
    Favourite.objects.create(user=alice, image=hidden)
    for user in (alice, bob):
        assert ids(search(user, team=team)) == []
        assert ids(search(user, in_collection=board)) == []
        assert ids(search(user, q="lighthouse", team=team)) == []
        assert not selectors.image_visible(user=user).filter(id=hidden.id).exists()
    assert ids(search(alice)) == []
    assert ids(search(alice, q="lighthouse")) == []
    assert ids(search(alice, favourite=True)) == []
    with pytest.raises(Http404):
        selectors.image_get(user=alice, image_id=hidden.id)
    staff = django_user_model.objects.create(username="mod", is_staff=True)
    assert ids(search(staff, everything=True, q="lighthouse")) == [hidden.id]


def test_a_team_library_holds_only_images_shared_with_it(alice, bob, team, make_image):
    shared = make_image(alice, "shared", team=team)
    make_image(alice, "private")
    assert ids(search(bob, team=team)) == [shared.id]


def test_charlie_sees_nothing_of_a_team_library_he_is_not_in(alice, charlie, team, make_image):
    make_image(alice, "shared", team=team)
    assert ids(search(charlie, team=team)) == []


def test_everything_is_for_staff_only(alice, bob, make_image):
    make_image(alice, "alice's")
    assert ids(search(bob, everything=True)) == []
