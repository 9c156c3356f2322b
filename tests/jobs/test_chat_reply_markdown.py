"""Issue 10, item 2: a chat reply is Markdown that follows the user's prompt, so whatever its
alt texts and titles hold, every image link in it is found, and found once."""

from __future__ import annotations

import html

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.providers.chat_completions import images_in_message

# Pieces of alt text and titles as prompts make models write them: brackets, parentheses,
# backticks, emphasis, line breaks, CJK, entities. Free text between them has no Markdown
# punctuation of its own, so each reply below is one that CommonMark reads as intended.
FRAGMENTS = st.sampled_from(
    [
        "\\[",
        "\\]",
        "[nested]",
        "[a [b] c]",
        "(paren)",
        "((",
        "))",
        "`code`",
        "`` a ` b ``",
        "*em*",
        "**strong**",
        "_under_",
        "\nnext line",
        "日本語の画像",
        "猫和狗",
        "한국어",
        "&amp;",
        "50% off",
        "\\*",
        "!",
    ]
)
PLAIN = st.text(
    alphabet=st.characters(
        categories=("L", "N", "Zs"), exclude_characters="\u2028\u2029\x85", max_codepoint=0x9FFF
    ),
    max_size=12,
)
# Joined by spaces, so that two code spans never merge into one longer backtick run.
TEXT = st.lists(st.one_of(FRAGMENTS, PLAIN), max_size=6).map(" ".join)
FORMS = st.sampled_from(["inline", "angle", "reference", "img_tag", "link_to_file"])
SEPARATORS = st.sampled_from([" ", " and then ", "\n", "\n\n", "\n\n- ", "\n\n> "])


def _title(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"' if text else ""


@st.composite
def replies(draw):
    count = draw(st.integers(min_value=1, max_value=5))
    parts: list[str] = [draw(PLAIN)]
    definitions: list[str] = []
    urls: list[str] = []
    for i in range(count):
        url = f"https://img.example/{i}/{draw(st.sampled_from(['a', 'b_c', 'd-e']))}.png"
        urls.append(url)
        alt, title, form = draw(TEXT), draw(TEXT), draw(FORMS)
        title = _title(title)
        if form == "inline":
            image = f"![{alt}]({url} {title})"
        elif form == "angle":
            image = f"![{alt}](<{url}> {title})"
        elif form == "reference":
            image = f"![{alt}][ref{i}]"
            definitions.append(f"[ref{i}]: <{url}> {title}")
        elif form == "link_to_file":
            image = f"[{alt or 'Download'}]({url} {title})"
        else:
            image = f'<img src="{url}" alt="{html.escape(alt, quote=True)}">'
        parts += [draw(SEPARATORS), image, draw(SEPARATORS), draw(PLAIN)]
    reply = "".join(parts)
    if definitions:
        reply += "\n\n" + "\n".join(definitions)
    return reply, urls


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies())
def test_every_image_link_is_found_exactly_once(reply_and_urls):
    reply, urls = reply_and_urls
    items, _text = images_in_message({"content": reply})
    assert [item["url"] for item in items] == urls, reply


@settings(max_examples=100, deadline=None)
@given(replies())
def test_the_same_reply_as_a_content_part_finds_the_same_links(reply_and_urls):
    reply, urls = reply_and_urls
    items, _text = images_in_message({"content": [{"type": "text", "text": reply}]})
    assert [item["url"] for item in items] == urls


def test_the_regex_era_misses_are_found():
    """Replies the old regular expression lost an image in (a paid image gone)."""
    reply = (
        "Here is [your] picture: ![a cat [sitting] on a mat](https://img.example/1.png)\n"
        "and ![`a ](b)` and (parens)](https://img.example/2.png)\n\n"
        "![ref][r]\n\n"
        '<img src="https://img.example/4.png" alt="four">\n\n'
        "[r]: https://img.example/3.png"
    )
    items, _text = images_in_message({"content": reply})
    assert [i["url"] for i in items] == [f"https://img.example/{n}.png" for n in (1, 2, 3, 4)]
