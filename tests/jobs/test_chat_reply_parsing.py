"""Chat-completion replies are Markdown: every image link in them is found exactly once
(issue 10, item 2), whatever the alt text and titles the prompt made the model write."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobs.providers.chat_completions import images_in_message

WORDS = st.text(
    alphabet=st.sampled_from(
        list("abcxyz0189 ") + list("图片生成的猫山水龍") + ["【", "】", "「", "」"]
    ),
    min_size=1,
    max_size=8,
).map(lambda s: s.strip() or "w")
CODE = st.lists(st.sampled_from([*"ab[]()<>*_!", "] (", "](x)"]), max_size=4).map("".join)

# Alt text: what a model writes when the prompt asks for brackets, code, emphasis, CJK.
ALT_PART = st.one_of(
    WORDS,
    WORDS.map(lambda w: f"[{w}]"),
    WORDS.map(lambda w: f"({w})"),
    WORDS.map(lambda w: f"[{w}]({w})"),
    CODE.map(lambda c: f"`{c or 'x'}`"),
    WORDS.map(lambda w: f"*{w}*"),
    WORDS.map(lambda w: f"**{w}**"),
    WORDS.map(lambda w: f"_{w}_"),
    st.sampled_from(["\\]", "\\[", "\\)", "\\(", "\\`", "\\*", ")", "(", "*", "_", "!"]),
    WORDS.map(lambda w: f"\n{w}"),  # a soft line break inside the alt text
)
ALT = st.lists(ALT_PART, max_size=6).map(" ".join)
TITLE_TEXT = st.lists(
    st.one_of(
        WORDS,
        st.sampled_from(["[", "]", "(", ")", "`", "*", "_", "![x](y)", "\\"]),
        WORDS.map(lambda w: f"\n{w}"),
    ),
    max_size=5,
).map(" ".join)


def _title(text: str, quote: str) -> str:
    body = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f" {quote}{body}{quote}"


TITLE = st.one_of(
    st.just(""),
    TITLE_TEXT.map(lambda t: _title(t, '"')),
    TITLE_TEXT.map(lambda t: _title(t, "'")),
)
# Destinations: plain, with balanced parentheses, in angle brackets (spaces, parens), data.
DESTINATION = st.sampled_from(["plain", "parens", "angle", "angle_space", "data"])
FORM = st.sampled_from(["inline", "reference", "img_tag", "img_block", "link_to_file"])


def _url(i: int, kind: str) -> tuple[str, str]:
    """(what the reply writes, the URL the parser must find)."""
    if kind == "parens":
        url = f"https://cdn{i}.example.com/a(b{i})/{i}.png"
        return url, url
    if kind == "angle":
        url = f"https://cdn{i}.example.com/a(b/{i}.png"
        return f"<{url}>", url
    if kind == "angle_space":
        url = f"https://cdn{i}.example.com/my pics/{i}.png"
        return f"<{url}>", url.replace(" ", "%20")
    if kind == "data":
        url = "data:image/png;base64," + base64.b64encode(f"png-{i}+/?".encode()).decode()
        return url, url
    url = f"https://cdn{i}.example.com/img/{i}.png?sig=a_{i}&x=1"
    return url, url


@st.composite
def replies(draw):
    count = draw(st.integers(min_value=0, max_value=6))
    parts: list[str] = []
    definitions: list[str] = []
    expected: list[str] = []
    for i in range(count):
        parts.append(draw(WORDS))
        alt, title = draw(ALT), draw(TITLE)
        form, kind = draw(FORM), draw(DESTINATION)
        written, url = _url(i, kind)
        if form in ("img_tag", "img_block"):
            if kind.startswith("angle"):
                written, url = _url(i, "plain")
            html_alt = alt.replace("&", "&amp;").replace('"', "&quot;").replace("\n", " ")
            tag = f'<img src="{written.replace("&", "&amp;")}" alt="{html_alt}">'
            parts.append(f"\n\n{tag}\n\n" if form == "img_block" else tag)
        elif form == "reference":
            parts.append(f"![{alt}][pic {i}]")
            definitions.append(f"[pic {i}]: {written}{title}")
        elif form == "link_to_file" and kind != "data":
            # A link may not contain another link (CommonMark); an image may.
            text = draw(st.lists(WORDS, min_size=1, max_size=3).map(" ".join))
            parts.append(f"[{text} {alt if '](' not in alt else ''}]({written}{title})")
        else:
            parts.append(f"![{alt}]({written}{title})")
        expected.append(url)
    parts.append(draw(WORDS))
    text = " ".join(parts)
    if definitions:
        text += "\n\n" + "\n".join(definitions)
    return text, expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies())
@example(("![a [nested] `]` alt](https://x.test/1.png)", ["https://x.test/1.png"]))
@example(('![t](<https://x.test/a (1).png> "a ) title")', ["https://x.test/a%20(1).png"]))
@example(("![圖\n**粗体**](https://x.test/2.png)", ["https://x.test/2.png"]))
def test_every_image_link_in_a_reply_is_found_exactly_once(reply):
    text, expected = reply
    items, _text = images_in_message({"content": text})
    assert [item["url"] or f"data:image/png;base64,{item['b64_json']}" for item in items] == [
        url for url in expected
    ], text


@settings(max_examples=100, deadline=None)
@given(replies())
def test_text_content_parts_are_parsed_as_markdown_too(reply):
    text, expected = reply
    items, _ = images_in_message({"content": [{"type": "text", "text": text}]})
    assert len(items) == len(expected)


def test_an_image_and_its_download_link_are_one_image():
    text = "![pic](https://x.test/1.png)\n\n[Download](https://x.test/1.png)"
    items, _ = images_in_message({"content": text})
    assert [i["url"] for i in items] == ["https://x.test/1.png"]


def test_links_to_pages_and_images_inside_code_are_not_images():
    text = (
        "See [the docs](https://x.test/help) and `![x](https://x.test/2.png)`\n\n"
        "    ![indented](https://x.test/3.png)\n\n"
        "```\n![fenced](https://x.test/4.png)\n```\n"
    )
    items, _ = images_in_message({"content": text})
    assert items == []


def test_the_json_shapes_are_still_read_beside_the_markdown():
    message = {
        "content": [
            {"type": "text", "text": "![a](https://x.test/1.png)"},
            {"type": "image_url", "image_url": {"url": "https://x.test/2.png"}},
        ],
        "images": [{"type": "image_url", "image_url": {"url": "https://x.test/1.png"}}],
    }
    items, text = images_in_message(message)
    assert [i["url"] for i in items] == ["https://x.test/1.png", "https://x.test/2.png"]
    assert text == "![a](https://x.test/1.png)"


def test_a_reply_the_old_regular_expression_missed_is_read_whole():
    # Brackets in the alt text and parentheses in the link: the regex found nothing here.
    text = "Here: ![a [red] fox](https://x.test/fox(1).png) and ![b](<https://x.test/b c.png>)"
    items, _ = images_in_message({"content": text})
    assert [i["url"] for i in items] == ["https://x.test/fox(1).png", "https://x.test/b%20c.png"]
