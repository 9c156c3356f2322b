"""Every page, rendered for a reader whose browser asks for Chinese, with data made in
Chinese: no run of English words may be left in what the reader sees or hears. The rendered
text is checked, so a string that was never marked for translation is caught too."""

import io

import pytest
from django.urls import reverse
from PIL import Image as PILImage

from gallery.models import Collection
from gallery.services import image_store
from jobs.connections import offered_models
from jobs.models import GenerationJob
from jobs.providers.errors import message_for
from moderation import services as moderation
from moderation.models import ImageReport
from teams.models import Invitation, Membership, Team
from tests.factories import UserFactory
from tests.i18n.visible_text import page_english

CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _png():
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 64), (30, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def _job(owner, prompt, **fields):
    return GenerationJob.objects.create(
        owner=owner,
        provider="openai",
        connection="openai",
        model="gpt-image-2",
        prompt=prompt,
        params={"size": "1024x1024", "quality": "high"},
        **fields,
    )


@pytest.fixture
def people(db):
    return {
        "staff": UserFactory(username="审核员小周", is_staff=True, is_superuser=True),
        "alice": UserFactory(username="林晓"),
        "bob": UserFactory(username="王博"),
        "carol": UserFactory(username="陈卡"),
    }


@pytest.fixture
def world(people, s3):
    """A team, a shared image with a report and a hidden one, a collection, an invitation,
    a finished job and one the provider refused, and notifications made by moderation."""
    alice, bob, staff = people["alice"], people["bob"], people["staff"]
    team = Team.objects.create(name="北港工作室")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Membership.Role.EDITOR)
    Invitation.objects.create(
        team=team, username="陈卡", role=Membership.Role.VIEWER, invited_by=alice
    )
    done = _job(alice, "雾中的灯塔，黎明时分，水彩", status=GenerationJob.Status.SUCCEEDED)
    image = image_store(job=done, index=0, data=_png())
    image.team = team
    image.title = "雾中灯塔"
    image.notes = "给海报用"
    image.save()
    night = _job(alice, "夜晚的港口，霓虹灯", status=GenerationJob.Status.SUCCEEDED)
    other = image_store(job=night, index=0, data=_png())
    collection = Collection.objects.create(name="海港合集", owner=alice)
    collection.images.add(image)
    ImageReport.objects.create(image=image, reporter=bob, reason="画面里有别人的商标")
    moderation.image_hide(actor=staff, image=other, reason="含有不适宜的内容")
    refused = _job(
        alice,
        "违规的提示词",
        status=GenerationJob.Status.FAILED,
        error_code="content_policy_violation",
        error_message=message_for("content_policy_violation"),
    )
    moderation.user_suspend(actor=staff, user=people["carol"], reason="多次发布广告")
    return {"team": team, "image": image, "collection": collection, "refused": refused}


def _model_labels() -> tuple[str, ...]:
    # Model labels come from the registry and the admin, shown as typed.
    return tuple(spec.label for spec in offered_models())


def _assert_chinese(client, url, *, extra=()):
    response = client.get(url, **CHINESE)
    assert response.status_code == 200, url
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    problems = page_english(html, also_allowed=_model_labels() + tuple(extra))
    assert problems == [], f"{url} shows English: {problems}"
    return html


def test_it_serves_every_page_in_chinese(client, people, world):
    image, team, collection = world["image"], world["team"], world["collection"]
    client.force_login(people["alice"])
    for url in [
        reverse("jobs:studio"),
        reverse("jobs:job_detail", args=[world["refused"].id]),
        reverse("gallery:list"),
        reverse("gallery:detail", args=[image.id]),
        reverse("gallery:collections"),
        reverse("gallery:collection", args=[collection.id]),
        reverse("gallery:team_library", args=[team.id]),
        reverse("teams:list"),
        reverse("teams:detail", args=[team.id]),
        reverse("moderation:usage"),
        reverse("notifications:list"),
    ]:
        _assert_chinese(client, url)

    client.force_login(people["bob"])
    _assert_chinese(client, reverse("moderation:report", args=[image.id]))

    client.force_login(people["carol"])
    _assert_chinese(client, reverse("teams:list"))

    client.force_login(people["staff"])
    for url in [
        reverse("moderation:dashboard"),
        reverse("moderation:queue"),
        reverse("moderation:queue") + "?all=1",
        reverse("moderation:members"),
        reverse("moderation:member", args=[people["carol"].id]),
        reverse("gallery:detail", args=[image.id]),
        reverse("gallery:everything"),
    ]:
        _assert_chinese(client, url)

    client.logout()
    _assert_chinese(client, reverse("login"))


def test_the_refusal_and_notifications_read_in_chinese_with_typed_words_as_typed(
    client, people, world
):
    client.force_login(people["alice"])
    job_page = _assert_chinese(client, reverse("jobs:job_detail", args=[world["refused"].id]))
    assert "提供方依据其内容政策拒绝了这条提示词" in job_page
    notifications = _assert_chinese(client, reverse("notifications:list"))
    assert "已被审核隐藏" in notifications
    assert "含有不适宜的内容" in notifications  # the staff's reason, as typed


def test_the_same_pages_stay_english_for_an_english_browser(client, people, world):
    client.force_login(people["alice"])
    response = client.get(reverse("jobs:studio"), HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"
    assert "Recent jobs" in response.content.decode()
    page = client.get(
        reverse("jobs:job_detail", args=[world["refused"].id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert message_for("content_policy_violation") in page
