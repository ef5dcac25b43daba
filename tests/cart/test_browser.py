"""The slide-over cart in a real browser (headless Chromium): the header button opens the
panel from the For You page, the panel loads the cart from the API and changes quantities
with the session and CSRF token. The harness fails the test on any console error, CSP
violation or 4xx/5xx sub-request."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from shopreel.runtime import Runtime
from tests.browser import conftest as harness
from tests.cart.helpers import create_buyer, lines_in, stock
from tests.fixtures.factories import PASSWORD
from tests.fixtures.sellers import create_product, create_seller

pytestmark = pytest.mark.browser

# the browser harness's fixtures (its conftest applies to tests/browser/ only)
playwright = harness.playwright
browser = harness.browser
live_server = harness.live_server
desktop_page = harness.desktop_page


async def test_slide_over_cart_changes_quantities(desktop_page: Page, runtime: Runtime) -> None:
    page = desktop_page
    seller = await create_seller(runtime)
    product, (variant,) = await create_product(
        runtime, seller.shop, title="Ceramic teapot", variants=(((), 3200),)
    )
    await stock(runtime, variant, 5)
    buyer = await create_buyer(runtime)

    await page.goto("/login")
    await page.get_by_label("Email").fill(buyer.email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/account")

    await page.goto(f"/products/{product.id}")
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_role("button", name="Add to cart").click()
    await page.wait_for_url("**/cart?notice=added")
    await expect(page.get_by_role("main")).to_contain_text("Ceramic teapot")

    await page.goto("/")
    cart_button = page.locator("[data-cart-button]")
    await expect(cart_button.locator("[data-cart-count]")).to_have_text("2")
    await cart_button.click()
    panel = page.get_by_role("dialog", name="Your cart")
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text("Ceramic teapot")
    await expect(panel).to_contain_text(seller.shop.name)

    await panel.get_by_role("button", name="Increase quantity: Ceramic teapot").click()
    await expect(cart_button.locator("[data-cart-count]")).to_have_text("3")
    assert await lines_in(runtime, buyer) == {variant.id: 3}

    await panel.get_by_role("button", name="Remove Ceramic teapot").click()
    await expect(panel).to_contain_text("Your cart is empty.")
    await expect(cart_button.locator("[data-cart-count]")).to_be_hidden()
    assert await lines_in(runtime, buyer) == {}
