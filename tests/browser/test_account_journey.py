"""The account journey in a real browser: sign up, log out, log in, form errors, keyboard.

Locators go by role and label (what a user, or a screen reader, sees), not by CSS classes,
so restyling the templates does not break these tests."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Locator, Page, Route, expect
from sqlalchemy import select

from shopreel.accounts.models import User
from shopreel.accounts.service import EMAIL_PURPOSE, locate_email
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.browser.conftest import PHONE, LiveServer, new_watched_page
from tests.fixtures.factories import PASSWORD, create_user
from tests.fixtures.services import require_chromium

pytestmark = pytest.mark.browser

EMAIL = "river.jones@example.com"
DISPLAY_NAME = "River Jones"


def at(server: LiveServer, path: str) -> str:
    return f"{server.url}{path}"


async def fill_signup(page: Page, *, email: str, password: str, display_name: str) -> None:
    await page.goto("/signup")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_label("Display name").fill(display_name)
    await page.get_by_label("Country").select_option(label="United States")


async def log_in(page: Page, email: str, password: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Log in").click()


def profile_value(page: Page, term: str) -> Locator:
    """The <dd> that answers the <dt> ``term`` in the account page's profile list."""
    return (
        page.get_by_role("main")
        .locator("dt", has_text=re.compile(rf"^\s*{re.escape(term)}\s*$"))
        .locator("xpath=following-sibling::dd[1]")
    )


async def users_in(runtime: Runtime, region: str) -> list[User]:
    async with runtime.databases.session(regional(region)) as session:
        return list((await session.scalars(select(User))).all())


async def test_sign_up_log_out_and_log_in_again(
    page: Page, live_server: LiveServer, runtime: Runtime
) -> None:
    require_chromium()
    banner = page.get_by_role("banner")

    # 1. Sign up: the account page shows who we are and where our data lives.
    await fill_signup(page, email=EMAIL, password=PASSWORD, display_name=DISPLAY_NAME)
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(at(live_server, "/account"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    await expect(profile_value(page, "Display name")).to_have_text(DISPLAY_NAME)
    await expect(profile_value(page, "Email")).to_have_text(EMAIL)
    await expect(profile_value(page, "Home region")).to_have_text(re.compile(r"\bUS\b"))

    # 6. Server side: the account lives in the "us" region's database, and only there.
    [user] = await users_in(runtime, "us")
    assert (user.region, user.country) == ("us", "US")
    assert user.email_index == runtime.cipher("us").index(EMAIL, EMAIL_PURPOSE)
    assert await users_in(runtime, "intl") == []
    assert await locate_email(runtime, EMAIL) == ("us", user.id)

    # 2. Log out with the header's account menu: back on the landing page, anonymous.
    # The menu is a <details> disclosure (a "group"); its <summary> opens it.
    menu = banner.get_by_role("group").filter(has_text=f"Account menu for {DISPLAY_NAME}")
    await menu.locator("summary").click()
    await banner.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(at(live_server, "/"))
    await expect(banner.get_by_role("link", name="Log in")).to_be_visible()
    await expect(banner.get_by_role("button", name="Log out")).to_have_count(0)

    # 3. Log in again with the same credentials: back on the account page.
    await banner.get_by_role("link", name="Log in").click()
    await expect(page).to_have_url(at(live_server, "/login"))
    await log_in(page, EMAIL, PASSWORD)
    await expect(page).to_have_url(at(live_server, "/account"))
    await expect(profile_value(page, "Email")).to_have_text(EMAIL)


async def test_bad_login_shows_the_error_and_stays_on_login(
    page: Page, live_server: LiveServer, runtime: Runtime
) -> None:
    require_chromium()
    await create_user(runtime, email=EMAIL, display_name=DISPLAY_NAME)

    await page.goto("/login")
    await log_in(page, EMAIL, "not the right password at all")

    await expect(page).to_have_url(at(live_server, "/login"))
    await expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect")
    await expect(page.get_by_label("Email")).to_have_value(EMAIL)
    await expect(page.get_by_label("Password", exact=True)).to_have_value("")
    await expect(page.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()


async def test_short_password_shows_the_field_error_and_keeps_the_email(
    page: Page, live_server: LiveServer, runtime: Runtime
) -> None:
    require_chromium()
    await fill_signup(page, email=EMAIL, password="too-short", display_name=DISPLAY_NAME)
    password = page.get_by_label("Password", exact=True)
    create = page.get_by_role("button", name="Create account")

    # Chromium itself refuses the form first (minlength): nothing is sent.
    await create.click()
    assert await password.evaluate("el => el.validity.tooShort && !el.form.checkValidity()")
    assert await users_in(runtime, "us") == []

    # Without the browser's check (an old browser, or the constraint removed) the server
    # answers with the field error on the re-rendered form.
    await password.evaluate("el => { el.form.noValidate = true; }")
    await create.click()
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("Use at least 12 characters")
    await expect(summary).to_be_focused()  # screen readers hear the problem first
    await expect(page).to_have_url(at(live_server, "/signup"))
    password = page.get_by_label("Password", exact=True)
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(password).to_have_accessible_description(re.compile("Use at least 12 characters"))
    await expect(password).to_have_value("")
    await expect(page.get_by_label("Email")).to_have_value(EMAIL)
    await expect(page.get_by_label("Display name")).to_have_value(DISPLAY_NAME)
    await expect(page.get_by_label("Country")).to_have_value("US")
    assert await users_in(runtime, "us") == []


async def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(
    desktop_page: Page, live_server: LiveServer
) -> None:
    require_chromium()
    page = desktop_page
    await page.goto("/")
    await page.wait_for_load_state("load")  # app.js has run: nothing moves focus later

    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()  # off-screen until focused, then on screen

    await page.keyboard.press("Enter")
    await expect(page).to_have_url(at(live_server, "/#main"))
    await expect(page.get_by_role("main")).to_be_focused()

    # The next Tab continues inside the content, past the header and its navigation.
    await page.keyboard.press("Tab")
    focused_in_main = page.get_by_role("main").locator(":focus")
    await expect(focused_in_main).to_have_count(1)


async def test_the_harness_catches_a_template_that_breaks_the_csp(
    browser: Browser, live_server: LiveServer
) -> None:
    """Guards the guard: an inline style and an inline script (what a careless template
    edit adds) are reported, so the tests above would fail on them."""
    require_chromium()
    page, watch = await new_watched_page(browser, live_server.url, PHONE, mobile=True)

    async def break_the_template(route: Route) -> None:
        response = await route.fetch()
        html = (await response.text()).replace(
            "</main>", '<p style="color: red">styled</p><script>void 0;</script></main>'
        )
        await route.fulfill(response=response, body=html)

    try:
        await page.route(f"{live_server.url}/", break_the_template)
        await page.goto("/")
        await page.wait_for_load_state("load")
        for _ in range(50):  # the violation events travel asynchronously
            if len(watch.csp_violations) >= 2:
                break
            await asyncio.sleep(0.02)
        problems = watch.problems()
    finally:
        await page.context.close()
    directives = {str(v["directive"]) for v in watch.csp_violations}
    assert {"style-src-attr", "script-src-elem"} <= directives, problems
    assert any(p.startswith("console error:") and "Content Security Policy" in p for p in problems)
