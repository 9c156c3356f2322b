"""A provider's refusal reads in the reader's language; the provider's own words stay as sent."""

from django.utils import translation

from jobs.providers.errors import ProviderError, message_display, message_for


def test_a_stored_error_with_the_providers_words_is_shown_translated_with_them_kept():
    error = ProviderError("invalid_request", detail="Invalid size '9x9'. Supported: 1024x1024.")

    with translation.override("zh-hans"):
        shown = message_display("invalid_request", error.message)

    assert (
        shown == "提供方拒绝了请求中的参数。 提供方原文：Invalid size '9x9'. Supported: 1024x1024."
    )


def test_a_catalogue_error_alone_is_translated():
    with translation.override("zh-hans"):
        shown = message_display("content_policy_violation", message_for("content_policy_violation"))

    assert shown == "提供方依据其内容政策拒绝了这条提示词。请换一种说法。"


def test_english_readers_see_the_stored_text_unchanged():
    error = ProviderError("invalid_request", detail="Invalid size.")

    with translation.override("en"):
        assert message_display("invalid_request", error.message) == error.message


def test_a_message_that_is_not_ours_is_shown_as_stored():
    with translation.override("zh-hans"):
        assert message_display("some_new_code", "Proxy says no.") == "Proxy says no."
