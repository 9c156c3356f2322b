"""Gallery filters: a choice list of the user's models in any case, a count of the active
filters, and a clear error when From is after To (gallery.forms.SearchForm)."""

import datetime as dt

from django.urls import reverse

from gallery.forms import SearchForm
from gallery.selectors import image_model_names


def test_the_model_choices_are_the_models_of_alices_and_her_teams_images(
    alice, bob, team, make_image
):
    make_image(alice, "a", model="gpt-image-1")
    make_image(alice, "b", model="dall-e-3")
    make_image(bob, "c", model="Midjourney", team=team)
    make_image(bob, "d", model="dall-e-2")  # bob's own, not shared
    assert image_model_names(user=alice) == ["dall-e-3", "gpt-image-1", "Midjourney"]


def test_charlie_sees_none_of_alices_models(alice, charlie, make_image):
    make_image(alice, "a", model="gpt-image-1")
    assert image_model_names(user=charlie) == []


def test_a_model_typed_in_another_case_filters_by_the_stored_name():
    form = SearchForm({"model": "DEMO"}, models=["demo", "gpt-image-1"])
    assert form.is_valid(), form.errors
    assert form.image_query().model == "demo"


def test_a_model_the_user_never_used_is_an_error_not_an_empty_page():
    form = SearchForm({"model": "imagen"}, models=["demo"])
    assert not form.is_valid()
    assert form.errors["model"] == ["None of these images was made with “imagen”."]
    assert form.image_query().model == ""


def test_from_after_to_is_a_clear_error():
    form = SearchForm({"date_from": "2026-05-03", "date_to": "2026-05-01"})
    assert not form.is_valid()
    assert "is before “From”" in form.errors["date_to"][0]
    assert form.image_query().date_from == dt.date(2026, 5, 3)


def test_it_counts_the_active_filters_but_not_the_search_or_sort():
    form = SearchForm(
        {"q": "fog", "sort": "oldest", "model": "demo", "tag": "coast", "favourite": "on"},
        models=["demo"],
    )
    form.is_valid()
    assert form.active_filters == ["Model", "Tag", "Favourites only"]


def test_the_gallery_page_shows_the_choices_badge_and_date_error(client, alice, make_image):
    make_image(alice, "a lighthouse", model="gpt-image-1")
    client.force_login(alice)
    response = client.get(
        reverse("gallery:list"),
        {"model": "GPT-Image-1", "date_from": "2026-05-03", "date_to": "2026-05-01"},
    )
    html = response.content.decode()
    assert '<option value="gpt-image-1" selected>gpt-image-1</option>' in html
    assert '<span class="badge" id="filter-count" title="Model, From, To">3 active</span>' in html
    assert '<details class="filters" id="filters" open>' in html
    assert "is before “From”" in html
    assert 'aria-describedby="id_date_to-error"' in html
