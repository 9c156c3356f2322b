"""A person whose browser prefers Chinese, on the real pipeline (web, worker, fake provider,
S3): the studio, a finished job and a provider's refusal read in Chinese; switching to
English sticks across reloads, pages, logging in again and another browser."""

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from accounts.models import Profile
from jobs.providers.errors import message_for
from tests.browser.conftest import DESKTOP, JOB_TIMEOUT_MS, screenshot
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUSAL_ZH = "提供方依据其内容政策拒绝了这条提示词"


def _chinese_page(browser: Browser) -> Page:
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    return context.new_page()


def _log_in(page: Page, url: str, user, *, username: str, password: str, button: str) -> None:
    page.goto(url + reverse("login"))
    page.get_by_label(username).fill(user.username)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()


def test_a_chinese_browser_gets_chinese_and_english_sticks_once_chosen(
    browser: Browser, live_server, worker
):
    newcomer = UserFactory(username="xiaolin")
    page = _chinese_page(browser)
    _log_in(page, live_server.url, newcomer, username="用户名", password="密码", button="登录")

    expect(page.get_by_role("heading", name="提示词工作台")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#generate-button")).to_have_text("生成")
    expect(page.locator("#no-jobs")).to_contain_text("还没有任务")

    page.locator("#id_model").select_option("gpt-image-2")
    page.locator("#id_prompt").fill("雾中的灯塔，黎明，水彩")
    page.locator("#generate-button").click()
    done = page.locator(".job-card", has_text="雾中的灯塔")
    expect(done).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    expect(done.locator(".badge")).to_have_text("已完成")
    expect(done.get_by_role("link", name="再创作").first).to_be_visible()

    page.locator("#id_prompt").fill("fake:content_policy_violation 不该画的东西")
    page.locator("#generate-button").click()
    refused = page.locator(".job-card", has_text="不该画的东西")
    expect(refused).to_have_attribute("data-status", "failed", timeout=JOB_TIMEOUT_MS)
    expect(refused.locator(".badge")).to_have_text("失败")
    expect(refused.get_by_role("alert")).to_contain_text(REFUSAL_ZH)
    expect(refused.get_by_role("button", name="重试")).to_be_visible()
    screenshot(page, "studio-zh-hans")

    page.get_by_role("link", name="图库", exact=True).click()
    expect(page.get_by_role("heading", name="我的图库")).to_be_visible()
    expect(page.get_by_role("button", name="搜索")).to_be_visible()
    screenshot(page, "gallery-zh-hans")

    page.locator("#language-select").select_option("en")
    page.locator("#language-submit").click()
    expect(page.get_by_role("heading", name="Your gallery")).to_be_visible()
    assert Profile.objects.get(user=newcomer).language == "en"
    page.reload()
    expect(page.get_by_role("heading", name="Your gallery")).to_be_visible()
    page.get_by_role("link", name="Studio", exact=True).click()
    expect(page.get_by_role("heading", name="Prompt studio")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".job-card", has_text="不该画的东西").get_by_role("alert")).to_contain_text(
        message_for("content_policy_violation")
    )

    # Logged out, then in again, in the same Chinese-preferring browser: still English.
    page.get_by_role("button", name="Log out xiaolin").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    _log_in(
        page, live_server.url, newcomer, username="Username", password="Password", button="Log in"
    )
    expect(page.get_by_role("heading", name="Prompt studio")).to_be_visible()
    page.context.close()

    # Another browser, also preferring Chinese: the choice is kept per person.
    other = _chinese_page(browser)
    _log_in(other, live_server.url, newcomer, username="用户名", password="密码", button="登录")
    expect(other.get_by_role("heading", name="Prompt studio")).to_be_visible()
    other.reload()
    expect(other.get_by_role("heading", name="Prompt studio")).to_be_visible()
    other.context.close()
