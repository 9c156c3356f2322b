"""The English-run finder itself: it must catch what it is there to catch."""

from tests.i18n.visible_text import english_runs, page_english


def test_it_finds_a_run_of_english_words():
    assert english_runs("生成 Recent jobs 任务") == ["Recent jobs"]


def test_it_ignores_single_words_and_names_between_chinese():
    assert english_runs("用 gpt-image-2 生成 PNG，Atelier 已重试") == []


def test_it_ignores_names_next_to_each_other():
    assert english_runs("Atelier Midjourney PNG 1024x1024") == []


def test_it_reads_attributes_but_not_scripts():
    html = (
        '<p>中文</p><script>const label = "Not shown";</script>'
        '<input placeholder="Search your prompts"><img alt="图片">'
    )
    assert page_english(html) == ["input[placeholder]: Search your prompts"]


def test_what_people_typed_can_be_allowed():
    assert page_english("<p>模型：GPT Image 2</p>", also_allowed=("GPT Image 2",)) == []
    assert page_english("<p>模型：GPT Image 2</p>") == ["text: GPT Image"]
