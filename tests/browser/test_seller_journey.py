"""The issue's first "done when" in a real browser: a new seller goes from sign-up to a live
product in the web UI.

A person signs up, opens the seller center from the header, starts and fills a business
application and submits it; a seller_ops staff member (US jurisdiction) approves it in a
browser of their own; the seller then describes the shop, sets shipping, adds a warehouse,
creates a product with one variant, uploads a PNG from the product editor and submits it. It
passes screening, goes live, and the public product page shows it. Every page runs under the
real CSP (the harness fails the test on a console error, CSP violation or failed request).

Locators go by role and label, as in test_account_journey.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import select

from shopreel.catalog.models import Product, ProductImage, Shop
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from shopreel.sellers.models import SellerApplication
from tests.browser.conftest import DESKTOP, LiveServer, new_watched_page
from tests.fixtures.factories import PASSWORD, create_user
from tests.fixtures.services import require_chromium

pytestmark = pytest.mark.browser

SELLER = "potter.lane@example.com"
STAFF = "ops.rivera@example.com"
HANDLE = "river-pottery"
SHOP_NAME = "River Pottery"
TITLE = "Speckled stoneware mug"


def at(server: LiveServer, path: str) -> str:
    return f"{server.url}{path}"


def flash(page: Page) -> Locator:
    return page.locator("#flash-region")


def png(folder: Path) -> Path:
    path = folder / "mug.png"
    Image.new("RGB", (640, 480), (200, 90, 40)).save(path, format="PNG")
    return path


async def sign_up(page: Page) -> None:
    await page.goto("/signup")
    await page.get_by_label("Email").fill(SELLER)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Display name").fill("Potter Lane")
    await page.get_by_label("Country").select_option(label="United States")
    await page.get_by_role("button", name="Create account").click()


async def apply_and_submit(page: Page, server: LiveServer) -> None:
    """Seller center -> start an application -> fill every section -> submit."""
    await page.get_by_role("banner").get_by_role("link", name="Sell").click()
    await expect(page).to_have_url(at(server, "/seller"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Seller center")
    await page.get_by_role("link", name="Start selling").click()
    await expect(page).to_have_url(at(server, "/seller/onboarding"))

    await page.get_by_label("You are selling as").select_option("business")
    await page.get_by_label("Shop handle").fill(HANDLE)
    await page.get_by_label("Shop name").fill(SHOP_NAME)
    await page.get_by_role("button", name="Start application").click()
    await expect(page).to_have_url(at(server, "/seller/onboarding?notice=started"))
    await expect(flash(page)).to_contain_text("Your application is started")

    form = page.locator("#application-form")
    await form.get_by_label("Registered business name").fill("River Pottery LLC")
    await form.get_by_label("Address line 1").fill("12 Kiln Road")
    await form.get_by_label("City").fill("Asheville")
    await form.get_by_label("State or region").fill("NC")
    await form.get_by_label("ZIP or postal code").fill("28801")
    await form.get_by_label("Country").select_option("US")
    await form.get_by_label("EIN").fill("94-7315268")
    await form.get_by_label("Email", exact=True).fill("books@river-pottery.example")
    await form.get_by_label("Phone").fill("+18285550142")
    await form.get_by_label("Routing number").fill("021000021")
    await form.get_by_label("Account number").fill("98765432101234")
    await form.get_by_role("button", name="Save", exact=True).click()
    await expect(page).to_have_url(at(server, "/seller/onboarding?notice=saved"))
    await expect(page.locator("#submit")).to_contain_text("Everything is filled in.")
    # The page never shows the tax id or the account number back, only their last digits.
    await expect(page.get_by_label("EIN")).to_have_value("")
    await expect(page.get_by_label("EIN")).to_have_accessible_description(
        re.compile("On file: ending 5268")
    )

    await page.get_by_role("button", name="Submit application").click()
    await expect(page).to_have_url(at(server, "/seller/onboarding?notice=submitted"))
    await expect(flash(page)).to_contain_text("Submitted. We will review your application")
    await expect(page.locator("#application-state")).to_have_text("Submitted")
    await expect(page.locator("#application-form")).to_have_count(0)  # frozen in review
    await expect(page.get_by_role("main")).to_contain_text("ending 1234")


async def staff_approves(browser: Browser, server: LiveServer) -> None:
    """A seller_ops staff member logs in in another browser and approves the application."""
    page, watch = await new_watched_page(browser, server.url, DESKTOP, mobile=False)
    try:
        await page.goto("/login")
        await page.get_by_label("Email").fill(STAFF)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.get_by_role("banner").get_by_role("link", name="Operations").click()
        await expect(page).to_have_url(at(server, "/staff/sellers"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("Seller applications")

        row = page.get_by_role("row").filter(has_text=f"@{HANDLE}")
        await expect(row).to_contain_text(SHOP_NAME)
        await expect(row).to_contain_text("business")
        await row.get_by_role("link").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(SHOP_NAME)
        await expect(page.locator("#state")).to_have_text("submitted")

        await page.get_by_role("button", name="Approve").click()
        await expect(page).to_have_url(re.compile(r"/staff/sellers/\w+\?notice=approve$"))
        await expect(flash(page)).to_contain_text("Application approved; the shop is live.")
        await expect(page.locator("#state")).to_have_text("approved")
        await expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        await page.wait_for_load_state("load")
        problems = watch.problems()
    finally:
        await page.context.close()
    assert problems == [], problems


async def set_up_shop(page: Page, server: LiveServer) -> None:
    """Shop profile, shipping and a warehouse, through the seller center's navigation."""
    nav = page.get_by_role("navigation", name="Seller center")
    await nav.get_by_role("link", name="Shop profile").click()
    await expect(page).to_have_url(at(server, "/seller/shop"))
    profile = page.locator("#profile")
    await profile.get_by_label("Description").fill("Small-batch stoneware from the Blue Ridge.")
    await profile.get_by_role("button", name="Save profile").click()
    await expect(page).to_have_url(at(server, "/seller/shop?notice=shop_saved"))
    await expect(flash(page)).to_contain_text("Shop profile saved.")

    shipping = page.locator("#shipping")
    await shipping.get_by_label("Handling time (days)").fill("2")
    await shipping.get_by_label("Flat shipping rate (USD)").fill("5.99")
    await shipping.get_by_label("Free shipping from (USD)").fill("50.00")
    await shipping.get_by_role("button", name="Save shipping").click()
    await expect(page).to_have_url(at(server, "/seller/shop?notice=shipping_saved"))
    await expect(flash(page)).to_contain_text("Shipping settings saved.")
    await expect(page.locator("#shipping").get_by_label("Flat shipping rate (USD)")).to_have_value(
        "5.99"
    )

    await nav.get_by_role("link", name="Warehouses").click()
    await expect(page).to_have_url(at(server, "/seller/warehouses"))
    add = page.locator("form[action='/seller/warehouses']")
    await add.get_by_label("Name", exact=True).fill("Studio")
    await add.get_by_label("Street address").fill("12 Kiln Road")
    await add.get_by_label("City").fill("Asheville")
    await add.get_by_label("State or region").fill("NC")
    await add.get_by_label("ZIP or postal code").fill("28801")
    await add.get_by_label("Country").select_option("US")
    await add.get_by_label("Handling time (business days)").fill("1")
    await add.get_by_role("button", name="Add warehouse").click()
    await expect(page).to_have_url(at(server, "/seller/warehouses?notice=created"))
    warehouses = page.get_by_role("table", name="Your warehouses")
    await expect(warehouses).to_contain_text("Studio")
    await expect(warehouses).to_contain_text("Asheville")


async def list_product(page: Page, server: LiveServer, image: Path) -> str:
    """New product -> draft -> image upload -> submit: live. Returns the product id."""
    nav = page.get_by_role("navigation", name="Seller center")
    await nav.get_by_role("link", name="Products").click()
    await expect(page).to_have_url(at(server, "/seller/products"))
    await page.get_by_role("link", name="New product").first.click()
    await expect(page).to_have_url(at(server, "/seller/products/new"))

    await page.get_by_label("Title").fill(TITLE)
    await page.get_by_label("Description").fill("<p>Wheel-thrown and glazed by hand.</p>")
    await page.get_by_label("Category id").fill("2169")
    await page.get_by_label("SKU of variant 1").fill("MUG-12")
    await page.get_by_label("Price of variant 1", exact=True).fill("24.00")
    await page.get_by_role("button", name="Create draft").click()
    await expect(page).to_have_url(re.compile(r"/seller/products/\w+\?notice=created$"))
    await expect(flash(page)).to_contain_text("Product created as a draft.")
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(page.locator("#category-breadcrumb")).to_contain_text("Mugs")
    match = re.search(r"/seller/products/(\w+)\?", page.url)
    assert match is not None
    product_id = match.group(1)

    images = page.locator("#product-images")
    await images.get_by_label("Add an image").set_input_files(image)
    await images.get_by_label("Alt text").fill("A speckled orange mug")
    await images.get_by_role("button", name="Upload image").click()
    await expect(page).to_have_url(
        at(server, f"/seller/products/{product_id}?image_notice=uploaded#product-images")
    )
    images = page.locator("#product-images")
    await expect(images.get_by_role("img", name="A speckled orange mug")).to_be_visible()
    await expect(images).to_contain_text("1 of ")

    await page.get_by_role("button", name="Submit for review").click()
    await expect(page).to_have_url(at(server, f"/seller/products/{product_id}?notice=live"))
    await expect(flash(page)).to_contain_text("Your listing passed screening and is live.")
    await expect(page.locator("#review-status")).to_contain_text("This listing is live")
    await expect(page.get_by_role("button", name="Submit for review")).to_have_count(0)
    return product_id


async def test_new_seller_goes_from_sign_up_to_a_live_product(
    desktop_page: Page,
    browser: Browser,
    live_server: LiveServer,
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    require_chromium()
    page = desktop_page
    await create_user(
        runtime,
        email=STAFF,
        roles=("staff",),
        jurisdiction="US",
        staff_roles=("seller_ops", "catalog_reviewer"),
        display_name="Ops Rivera",
    )

    # 1. Sign up and apply.
    await sign_up(page)
    await expect(page).to_have_url(at(live_server, "/account"))
    await apply_and_submit(page, live_server)

    # Before approval the seller center shows the application waiting and nothing more.
    await page.goto("/seller")
    await expect(page.locator("#application-title")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("Waiting for review.")
    await expect(page.locator("#check-application_submitted")).to_have_attribute(
        "data-done", "true"
    )
    await expect(page.locator("#check-application_approved")).to_have_attribute(
        "data-done", "false"
    )

    # 2. Marketplace operations approves it in another browser.
    await staff_approves(browser, live_server)

    # 3. The seller sets up the shop and lists a product that goes live.
    await page.reload()
    await expect(page.get_by_role("main")).to_contain_text("Your shop is approved.")
    await set_up_shop(page, live_server)
    product_id = await list_product(page, live_server, png(tmp_path))

    # The public page, for anyone: title, price and the uploaded image.
    await page.get_by_role("link", name="View the public page").click()
    await expect(page).to_have_url(at(live_server, f"/products/{product_id}"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(page.locator("#product-price")).to_have_text("$24.00")
    await expect(page.get_by_role("main")).to_contain_text(SHOP_NAME)
    await expect(page.get_by_role("main")).to_contain_text("Wheel-thrown and glazed by hand.")
    await expect(page.get_by_role("img", name="A speckled orange mug")).to_be_visible()

    # The overview's checklist: every step done.
    await page.goto("/seller")
    checklist = page.locator("#checklist")
    await expect(checklist.get_by_role("heading", level=2)).to_contain_text("7 of 7 done")
    items = checklist.get_by_role("listitem")
    await expect(items).to_have_count(7)
    for index in range(7):
        await expect(items.nth(index)).to_have_attribute("data-done", "true")
        await expect(items.nth(index)).to_contain_text("Done")

    # 4. Server side: the application lives in the US region only; the product is live.
    async with runtime.databases.session(regional("us")) as session:
        [application] = (await session.scalars(select(SellerApplication))).all()
    assert application.state == "approved"
    assert application.kind == "business"
    assert application.tax_id_ct is not None and b"94-7315268" not in application.tax_id_ct
    async with runtime.databases.session(regional("intl")) as session:
        assert (await session.scalars(select(SellerApplication))).all() == []
    async with runtime.databases.session(GLOBAL) as session:
        shop = await session.scalar(select(Shop).where(Shop.handle == HANDLE))
        product = await session.get(Product, product_id)
        images = (
            await session.scalars(select(ProductImage).where(ProductImage.product_id == product_id))
        ).all()
    assert shop is not None and shop.id == application.shop_id and shop.status == "approved"
    assert product is not None and product.status == "live" and product.shop_id == shop.id
    assert product.category_id == 2169
    assert len(images) == 1
