"""Catalog pages with the test client: the seller's list and editor (no JavaScript: the grid
posts as form fields), the staff listing review pages, and the public product page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.catalog.models import PriceChange, Product, ProductImage, Variant
from shopreel.kit.ids import new_id
from shopreel.planes import CONTROL, GLOBAL
from shopreel.runtime import Runtime
from shopreel.sovereignty.models import AuditEntry
from tests.catalog.catalog_helpers import HTML, MUG, Clients, Session, add_image
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import Seller, create_product, create_seller


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Clients]:
    opened = Clients(app)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def seller(runtime: Runtime) -> Seller:
    return await create_seller(runtime, handle="clayworks")


@pytest.fixture
async def session(clients: Clients, seller: Seller) -> Session:
    return await clients.login(seller.email)


def editor_form(**overrides: str) -> dict[str, str]:
    form = {
        "title": "Stoneware Mug",
        "description_html": "<p>Handmade</p><script>alert(1)</script>",
        "category_id": str(MUG),
        "tags": "kitchen, handmade, Kitchen",
        "option_0": "Color",
        "variant_count": "3",
        "variant-0-option-0": "Blue",
        "variant-0-sku": "MUG-B",
        "variant-0-price": "24.00",
        "variant-0-barcode": "4006381333931",
        "variant-1-option-0": "Green",
        "variant-1-sku": "MUG-G",
        "variant-1-price": "26.50",
        "variant-1-compare_at": "30",
        "variant-1-weight": "350",
        # row 2 left empty: ignored
    }
    form.update(overrides)
    return form


async def products(runtime: Runtime) -> list[Product]:
    async with runtime.databases.session(GLOBAL) as db:
        return list(await db.scalars(select(Product)))


async def variants(runtime: Runtime, product_id: str) -> list[Variant]:
    async with runtime.databases.session(GLOBAL) as db:
        rows = await db.scalars(
            select(Variant).where(Variant.product_id == product_id).order_by(Variant.position)
        )
        return list(rows)


async def test_anonymous_is_sent_to_login_and_shopper_to_onboarding(
    runtime: Runtime, clients: Clients
) -> None:
    anonymous = clients.anonymous()
    response = await anonymous.get("/seller/products", headers=HTML)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")
    await create_user(runtime, email="shopper@example.com")
    shopper = await clients.login("shopper@example.com")
    page = await shopper.get("/seller/products", headers=HTML)
    assert page.status_code == 303 and page.headers["location"] == "/seller/onboarding"


async def test_create_with_the_grid_form_and_edit(session: Session, runtime: Runtime) -> None:
    empty = await session.get("/seller/products", headers=HTML)
    assert empty.status_code == 200 and "No products yet" in empty.text
    new = await session.get("/seller/products/new", headers=HTML)
    assert new.status_code == 200
    assert 'name="variant-0-price"' in new.text
    assert 'name="csrf_token"' in new.text

    created = await session.form("/seller/products/new", editor_form())
    assert created.status_code == 303, created.text
    product_id = created.headers["location"].split("/")[3].split("?")[0]
    [product] = await products(runtime)
    assert product.id == product_id
    assert product.tags == ["kitchen", "handmade"]
    assert "<script" not in product.description_html
    rows = await variants(runtime, product_id)
    assert [
        (v.options, v.sku, v.price_cents, v.compare_at_cents, v.weight_grams) for v in rows
    ] == [
        ({"Color": "Blue"}, "MUG-B", 2400, None, None),
        ({"Color": "Green"}, "MUG-G", 2650, 3000, 350),
    ]

    page = await session.get(f"/seller/products/{product_id}", headers=HTML)
    assert page.status_code == 200
    assert "Mugs" in page.text  # the category breadcrumb
    assert "Draft" in page.text and "Submit for review" in page.text
    assert "Price history" in page.text and "$24.00" in page.text
    assert "alert(1)" not in page.text

    # change a price and remove a row: one update row in the history, the other variant gone
    edit = editor_form(
        version="1",
        **{"variant-0-price": "22.00", "variant-1-remove": "1"},
    )
    saved = await session.form(f"/seller/products/{product_id}", edit)
    assert saved.status_code == 303, saved.text
    rows = await variants(runtime, product_id)
    assert [(v.sku, v.price_cents) for v in rows] == [("MUG-B", 2200)]
    async with runtime.databases.session(GLOBAL) as db:
        history = list(await db.scalars(select(PriceChange).order_by(PriceChange.changed_at)))
    assert [(h.sku, h.price_cents, h.reason) for h in history] == [
        ("MUG-B", 2400, "create"),
        ("MUG-B", 2200, "update"),
    ]
    listing = await session.get("/seller/products?status=draft", headers=HTML)
    assert "Stoneware Mug" in listing.text
    search = await session.get("/seller/products?q=nothing-like-this", headers=HTML)
    assert "No matching products" in search.text


async def test_form_errors_keep_the_typed_values_and_save_nothing(
    session: Session, runtime: Runtime
) -> None:
    bad_price = await session.form(
        "/seller/products/new", editor_form(**{"variant-1-price": "26.999"})
    )
    assert bad_price.status_code == 422
    assert "Variant 2" in bad_price.text
    assert 'value="MUG-G"' in bad_price.text  # typed values are kept
    duplicate = await session.form(
        "/seller/products/new", editor_form(**{"variant-1-option-0": "blue"})
    )
    assert duplicate.status_code == 422
    assert "same options" in duplicate.text
    barcode = await session.form(
        "/seller/products/new", editor_form(**{"variant-0-barcode": "4006381333932"})
    )
    assert barcode.status_code == 422 and "check digit" in barcode.text
    assert await products(runtime) == []


async def test_generate_combinations_without_javascript(session: Session, runtime: Runtime) -> None:
    form = {
        "title": "T-shirt",
        "option_0": "Size",
        "option_0_values": "S, M",
        "option_1": "Color",
        "option_1_values": "Red, Blue",
        "variant_count": "0",
        "generate": "1",
    }
    response = await session.form("/seller/products/new", form)
    assert response.status_code == 200
    for row, (size, color) in enumerate((("S", "Red"), ("S", "Blue"), ("M", "Red"), ("M", "Blue"))):
        assert f'name="variant-{row}-option-0" value="{size}"' in response.text
        assert f'name="variant-{row}-option-1" value="{color}"' in response.text
    assert await products(runtime) == []  # generating does not save


async def test_stale_version_is_refused_on_the_page(
    session: Session, seller: Seller, runtime: Runtime
) -> None:
    product, _ = await create_product(runtime, seller.shop, status="draft", title="Bowl")
    stale = await session.form(
        f"/seller/products/{product.id}",
        {"title": "Bowl 2", "version": "7", "variant_count": "1", "variant-0-price": "1.00"},
    )
    assert stale.status_code == 409
    assert "Someone changed this product" in stale.text
    [row] = await products(runtime)
    assert (row.title, row.version) == ("Bowl", 1)


async def test_submit_from_the_page_shows_the_reasons(
    session: Session, runtime: Runtime, seller: Seller
) -> None:
    created = await session.form("/seller/products/new", editor_form(title="Replica mug"))
    product_id = created.headers["location"].split("/")[3].split("?")[0]
    await add_image(runtime, product_id, seller.shop.id)
    submitted = await session.form(f"/seller/products/{product_id}/submit", {})
    assert submitted.status_code == 303
    assert submitted.headers["location"].endswith("notice=rejected")
    page = await session.get(submitted.headers["location"], headers=HTML)
    assert "Rejected" in page.text
    assert "Replicas of branded goods may not be sold." in page.text
    # archive, restore, delete a draft
    assert (await session.form(f"/seller/products/{product_id}/archive", {})).status_code == 303
    again = await session.form(f"/seller/products/{product_id}/archive", {})
    assert again.status_code == 409 and "Cannot archive" in again.text
    assert (await session.form(f"/seller/products/{product_id}/unarchive", {})).status_code == 303
    deleted = await session.form(f"/seller/products/{product_id}/delete", {})
    assert deleted.headers["location"] == "/seller/products?notice=deleted"
    assert await products(runtime) == []


async def test_staff_review_pages(
    runtime: Runtime, clients: Clients, session: Session, seller: Seller
) -> None:
    created = await session.form("/seller/products/new", editor_form(title="Kratom tea"))
    product_id = created.headers["location"].split("/")[3].split("?")[0]
    await add_image(runtime, product_id, seller.shop.id)
    await session.form(f"/seller/products/{product_id}/submit", {})
    await create_user(
        runtime,
        email="reviewer@example.com",
        roles=("staff",),
        jurisdiction="US",
        staff_roles=("catalog_reviewer",),
    )
    reviewer = await clients.login("reviewer@example.com")
    queue = await reviewer.get("/staff/listings", headers=HTML)
    assert queue.status_code == 200
    assert "Kratom tea" in queue.text and "restricted_keyword" in queue.text
    detail = await reviewer.get(f"/staff/listings/{product_id}", headers=HTML)
    assert "Kratom products need staff review." in detail.text
    assert "Approve: go live" in detail.text
    assert "<script" not in detail.text.split('id="review-history"')[0].split("Description")[1]
    refused = await reviewer.form(f"/staff/listings/{product_id}/reject", {"reasons": "  "})
    assert refused.status_code == 422 and "at least one reason" in refused.text
    approved = await reviewer.form(f"/staff/listings/{product_id}/approve", {"note": "ok"})
    assert approved.status_code == 303
    page = await reviewer.get(approved.headers["location"], headers=HTML)
    assert "Listing approved" in page.text and "Take down" in page.text
    async with runtime.databases.session(CONTROL) as db:
        kinds = list(
            await db.scalars(select(AuditEntry.kind).where(AuditEntry.subject_id == product_id))
        )
    assert kinds == ["catalog.review"]
    # non-reviewers get the 403 page
    seller_page = await session.get("/staff/listings", headers=HTML)
    assert seller_page.status_code == 403


async def test_public_product_page(runtime: Runtime, clients: Clients, seller: Seller) -> None:
    product, _ = await create_product(
        runtime,
        seller.shop,
        title="Linen Shirt",
        option_names=("Size",),
        variants=((("S",), 4500), (("M",), 4700)),
        category_id=MUG,
    )
    draft, _ = await create_product(runtime, seller.shop, title="Secret draft", status="draft")
    async with runtime.databases.transaction(GLOBAL) as db:
        for position, url in enumerate(
            ("https://cdn.example.com/a.jpg", "http://insecure.example.com/b.jpg"), start=1
        ):
            db.add(
                ProductImage(
                    id=new_id("img"),
                    product_id=product.id,
                    shop_id=seller.shop.id,
                    position=position,
                    source_url=url,
                    status="remote",
                )
            )
    anonymous = clients.anonymous()
    page = await anonymous.get(f"/products/{product.id}", headers=HTML)
    assert page.status_code == 200
    assert "Linen Shirt" in page.text
    assert "$45.00" in page.text and "$47.00" in page.text
    assert "Home &amp; Garden" in page.text and "Mugs" in page.text
    assert 'src="https://cdn.example.com/a.jpg"' in page.text
    assert "insecure.example.com" not in page.text
    assert f'href="/products?shop={seller.shop.handle}"' in page.text
    assert (await anonymous.get(f"/products/{draft.id}", headers=HTML)).status_code == 404
    listing = await anonymous.get(f"/products?shop={seller.shop.handle}", headers=HTML)
    assert "Linen Shirt" in listing.text and "Secret draft" not in listing.text
    assert re.search(r"Shop \d+", listing.text)
