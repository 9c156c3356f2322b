"""Typo correction ("also showing results for …") draws only on images the searcher may see."""

from gallery.selectors import ImageQuery, image_search


def corrected(user, q, **scope):
    return image_search(user=user, query=ImageQuery(q=q), **scope).corrected


def test_bobs_private_words_never_become_alices_suggestions(alice, bob, make_image):
    make_image(bob, "a zeppelin over the harbour", notes="codename marigold")
    make_image(alice, "a mountain lake")
    assert corrected(alice, "zepelin") == {}
    assert corrected(alice, "marigld") == {}
    # Bob, who may see them, is helped.
    assert corrected(bob, "zepelin") == {"zepelin": "zeppelin"}


def test_a_word_only_a_stranger_uses_does_not_stop_alices_correction(alice, bob, make_image):
    """Leaving "known" words alone must not say that someone else knows the word either."""
    make_image(bob, "a secret lantern")
    make_image(alice, "a lanterns festival")
    # "lantern" occurs only in bob's prompt as such, yet alice's own "lanterns" is the
    # same word to the search; so she is not corrected, and the answer is hers alone.
    assert corrected(alice, "lantern") == {}
    make_image(bob, "the gardener's shed")
    make_image(alice, "a garden party")
    assert corrected(alice, "gardene") == {"gardene": "garden"}


def test_alice_gets_suggestions_from_her_teams_library(alice, bob, team, make_image):
    shared = make_image(bob, "a lighthouse keeper")
    shared.team = team
    shared.save(update_fields=["team"])
    make_image(bob, "an observatory dome")  # bob's private image
    assert corrected(alice, "lighthose") == {"lighthose": "lighthouse"}
    assert corrected(alice, "observatry") == {}


def test_staff_get_suggestions_from_every_image(alice, bob, make_image):
    from tests.factories import UserFactory

    sam = UserFactory(username="sam", is_staff=True)
    make_image(bob, "a zeppelin over the harbour")
    assert corrected(sam, "zepelin", everything=True) == {"zepelin": "zeppelin"}
    assert corrected(alice, "zepelin") == {}
