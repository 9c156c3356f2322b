"""The admin names our apps, models and the columns of the main lists in the reader's
language; Django translates only its own."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import override

from gallery.models import Image
from jobs.models import GenerationJob
from moderation.models import BlockedTerm
from tests.factories import UserFactory
from tests.i18n.visible_text import visible_text

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
OUR_APPS = (
    "accounts",
    "api",
    "catalogue",
    "gallery",
    "jobs",
    "moderation",
    "notifications",
    "openai_api",
    "ops",
    "teams",
    "webhooks",
)
# The admins staff work in every day: their column headings are translated too.
MAIN_APPS = ("jobs", "gallery", "moderation")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _registered(app_labels=OUR_APPS):
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in app_labels
    ]


def _in(language, text):
    with override(language):
        return str(text)


def _heading(name, model, model_admin, language):
    with override(language):
        return str(label_for_field(name, model, model_admin))


def _plural(model, language):
    return _in(language, capfirst(model._meta.verbose_name_plural))


def _app_name(app_label, language):
    return _in(language, apps.get_app_config(app_label).verbose_name)


def _without(text, phrases):
    """The text with the Chinese names taken out, since some keep a Latin word (API 访问)."""
    for phrase in sorted(phrases, key=len, reverse=True):
        text = text.replace(phrase, " · ")
    return text


@pytest.fixture
def staff(db):
    return UserFactory(username="审核员小周", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_every_app_of_ours_has_a_chinese_name():
    for app_label in OUR_APPS:
        # "Webhook" is the word Chinese readers use, as in the site's menu.
        assert _app_name(app_label, "zh-hans") != _app_name(app_label, "en"), app_label


def test_every_model_of_ours_has_chinese_names_and_the_admin_shows_them_all():
    models = [m for label in OUR_APPS for m in apps.get_app_config(label).get_models()]
    assert {model for model, _ in _registered()} <= set(models)
    for model in models:
        for attribute in ("verbose_name", "verbose_name_plural"):
            english = _in("en", getattr(model._meta, attribute))
            chinese = _in("zh-hans", getattr(model._meta, attribute))
            assert chinese != english and HAN.search(chinese), (model._meta.label, attribute)


def test_the_column_headings_of_the_main_admins_are_chinese():
    for model, model_admin in _registered(MAIN_APPS):
        for name in model_admin.get_list_display(None):
            if name in ("id", "pk"):
                continue  # "ID" in both languages
            english = _heading(name, model, model_admin, "en")
            chinese = _heading(name, model, model_admin, "zh-hans")
            assert chinese != english and HAN.search(chinese), (model._meta.label, name)


def test_the_admin_index_names_our_apps_and_models_in_chinese(staff_client):
    response = staff_client.get(reverse("admin:index"), **CHINESE)

    assert response.status_code == 200
    text, _ = visible_text(response.content.decode())
    app_labels = {model._meta.app_label for model, _ in _registered()}
    chinese = [_app_name(label, "zh-hans") for label in app_labels]
    chinese += [_plural(model, "zh-hans") for model, _ in _registered()]
    for name in chinese:
        assert name in text
    rest = _without(text, chinese)
    for app_label in app_labels:
        assert _app_name(app_label, "en") not in rest, app_label
    for model, _ in _registered():
        assert _plural(model, "en") not in rest, model._meta.label


def test_each_changelist_of_ours_names_its_model_in_chinese(staff_client):
    registered = _registered()
    assert len(registered) > 15

    for model, _ in registered:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = staff_client.get(url, **CHINESE)

        assert response.status_code == 200, url
        text, _ = visible_text(response.content.decode())
        assert _plural(model, "zh-hans") in text, url
        rest = _without(
            text, [_plural(model, "zh-hans"), _app_name(model._meta.app_label, "zh-hans")]
        )
        assert _plural(model, "en") not in rest, url
        assert _in("en", model._meta.verbose_name) not in rest, url


def test_a_list_with_rows_has_chinese_headings(staff_client, staff):
    job = GenerationJob.objects.create(
        owner=staff, provider="openai", connection="openai", model="gpt-image-2", prompt="灯塔"
    )
    Image.objects.create(
        owner=staff,
        job=job,
        index=0,
        original_key="k.png",
        thumbnail_key="k.webp",
        width=64,
        height=64,
        format="png",
        bytes=100,
        sha256="0" * 64,
    )
    BlockedTerm.objects.create(pattern="违禁词")

    for model, headings in [
        (GenerationJob, ["所有者", "状态", "尝试次数", "错误代码", "创建时间"]),
        (Image, ["任务", "序号", "宽度", "高度", "大小（字节）", "已隐藏"]),
        (BlockedTerm, ["屏蔽内容", "类型", "生效中", "备注"]),
    ]:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = staff_client.get(url, **CHINESE)
        html = response.content.decode()
        columns = re.findall(r'<th scope="col"[^>]*>.*?</th>', html, re.S)

        heading_text = " ".join(visible_text(column)[0] for column in columns)
        for heading in headings:
            assert heading in heading_text, (url, heading)
        for english in ("Owner", "Status", "Width", "Pattern", "Created"):
            assert english not in heading_text, (url, english)
