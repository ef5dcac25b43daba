"""Checkout in a real browser: cart -> address and shipping -> review -> a declined card ->
another card -> confirmation -> the order page. Proves that ``checkout.js`` tokenizes the
card with the provider and that the pay form posts only the CSRF token and the card token.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from shopreel.catalog.models import Variant
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.browser.conftest import LiveServer
from tests.checkout.support import orders_of, store
from tests.fixtures.factories import PASSWORD, create_user
from tests.fixtures.services import require_chromium

pytestmark = pytest.mark.browser

EMAIL = "checkout.buyer@example.com"


async def _product_of(runtime: Runtime, variant_id: str) -> str:
    async with runtime.databases.session(GLOBAL) as session:
        product_id = await session.scalar(
            select(Variant.product_id).where(Variant.id == variant_id)
        )
    assert product_id
    return str(product_id)


async def _enter_card(page: Page, number: str) -> None:
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry month").fill("12")
    await page.get_by_label("Expiry year").fill("2099")
    await page.get_by_label("CVC").fill("123")


async def test_checkout_with_a_declined_then_a_good_card(
    desktop_page: Page, live_server: LiveServer, runtime: Runtime
) -> None:
    require_chromium()
    page = desktop_page
    shop = await store(runtime, 3, price=2500)
    product_id = await _product_of(runtime, shop.variants[0])
    await create_user(runtime, email=EMAIL)

    await page.goto("/checkout")
    await expect(page).to_have_url(re.compile(r"/login\?next=/checkout$"))
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("button", name="Log in")).to_have_count(0)

    await page.goto(f"/products/{product_id}")
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_role("button", name="Add to cart").click()
    await page.goto("/cart")
    await page.get_by_role("link", name="Checkout").click()
    await expect(page).to_have_url(f"{live_server.url}/checkout")

    await page.get_by_label("Express: $15.99, ships after 1 handling day").check()
    await page.get_by_label("Address line 1").fill("1 Main St")
    await page.get_by_label("City").fill("Austin")
    await page.get_by_label("State").fill("TX")
    await page.get_by_label("ZIP / postal code").fill("78701")
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(re.compile(r"/checkout/chk_us_\w+$"))
    checkout_id = page.url.rsplit("/", 1)[1]
    main = page.get_by_role("main")
    await expect(main).to_contain_text(re.compile(r"held for you until \d\d:\d\d UTC"))
    await expect(main).to_contain_text("Shipping: Express (ships after 1 handling day)")
    await expect(main).not_to_contain_text("Paying by card needs JavaScript")

    await _enter_card(page, "4000 0000 0000 0002")
    async with page.expect_request(lambda r: r.url.endswith("/pay")) as posted:
        await page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    fields = parse_qs((await posted.value).post_data or "")
    assert sorted(fields) == ["csrf_token", "token"]
    assert fields["token"][0].startswith("tok_sandbox_")
    await expect(page.get_by_role("alert").filter(has_text="Payment declined")).to_be_visible()
    await expect(main).to_contain_text("The card was declined. Try another card.")

    await _enter_card(page, "4242 4242 4242 4242")
    await page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    await expect(page).to_have_url(f"{live_server.url}/checkout/{checkout_id}/done")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you, your order is placed"
    )
    await expect(main).to_contain_text("ending in 4242")
    [order] = await orders_of(runtime, checkout_id)
    await page.get_by_role("link", name=re.compile("^Order from")).click()
    await expect(page).to_have_url(f"{live_server.url}/orders/{order.id}")
