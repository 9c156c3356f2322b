"""The words of searchable text are kept once each, for correcting typos."""

import pytest

from gallery.models import SearchTerm
from gallery.services import search_terms_add


@pytest.mark.django_db
def test_each_word_is_kept_once_however_often_it_is_added():
    search_terms_add(texts=["A lighthouse at dusk", "lighthouse, FOG"])
    search_terms_add(texts=["fog over the lighthouse", ""])
    search_terms_add(texts=["", "42 ab"])  # nothing of three letters or more: nothing written

    words = list(SearchTerm.objects.order_by("word").values_list("word", flat=True))
    assert words == ["dusk", "fog", "lighthouse", "over", "the"]
