"""Seller center, staff review and public shop pages: forms with CSRF, the whole journey."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from shopreel.runtime import Runtime
from tests.fixtures.factories import api_login, create_user
from tests.sellers.conftest import application_row, shop_row

HTML = {"accept": "text/html"}

ADDRESS_FORM = {
    "legal_name": "Zanzibar Pottery Co",
    "address_line1": "12 Kiln Road",
    "address_line2": "",
    "address_city": "Portland",
    "address_state": "OR",
    "address_postal_code": "97201",
    "address_country": "US",
    "tax_id": "93-1111111",
    "contact_email": "hello@zanzibar.example",
    "contact_phone": "+15035550199",
    "bank_routing_number": "011000015",
    "bank_account_number": "123456789",
}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form has no CSRF token"
    return match.group(1)


async def page(client: httpx.AsyncClient, path: str) -> httpx.Response:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    assert " style=" not in response.text
    assert not re.search(r"\son[a-z]+=", response.text), "inline event handler breaks the CSP"
    for tag in re.findall(r"<script\b[^>]*>", response.text):
        assert "src=" in tag, tag
    return response


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], *, token_from: str
) -> httpx.Response:
    token = csrf_from((await page(client, token_from)).text)
    return await client.post(path, data={**data, "csrf_token": token}, headers=HTML)


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.40", 55000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_anonymous_visitors_are_sent_to_login(client: httpx.AsyncClient) -> None:
    for path in ("/seller", "/seller/onboarding", "/seller/shop", "/staff/sellers"):
        response = await client.get(path, headers=HTML)
        assert response.status_code in (302, 303, 307) and "/login" in response.headers["location"]


async def test_seller_journey_in_the_browser(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_user(runtime, email="potter@example.com")
    await api_login(client, "potter@example.com")

    overview = await page(client, "/seller")
    assert "Start selling" in overview.text and 'href="/seller/onboarding"' in overview.text
    start = await page(client, "/seller/onboarding")
    assert 'action="/seller/onboarding/start"' in start.text

    form = {"kind": "business", "handle": "zanzibar", "shop_name": "Zanzibar", "description": ""}
    forged = await client.post(
        "/seller/onboarding/start", data={**form, "csrf_token": "f" * 64}, headers=HTML
    )
    assert forged.status_code == 403
    assert await shop_row(runtime, seller.id) is None

    bad = await post_form(
        client,
        "/seller/onboarding/start",
        {**form, "handle": "admin"},
        token_from="/seller/onboarding",
    )
    assert bad.status_code == 422 and "reserved" in bad.text
    assert await shop_row(runtime, seller.id) is None

    started = await post_form(
        client, "/seller/onboarding/start", form, token_from="/seller/onboarding"
    )
    assert started.status_code == 303 and started.headers["location"].startswith(
        "/seller/onboarding"
    )
    sections = await page(client, "/seller/onboarding")
    for legend in ("Legal name", "Business address", "Tax identification", "Payout bank"):
        assert legend in sections.text
    assert "Draft" in sections.text

    invalid = await post_form(
        client,
        "/seller/onboarding",
        {**ADDRESS_FORM, "tax_id": "00-1234567", "address_state": "ZZ"},
        token_from="/seller/onboarding",
    )
    assert invalid.status_code == 422 and "USPS" in invalid.text and "IRS" in invalid.text
    row = await application_row(runtime, seller.id, "us")
    assert row is not None and row["legal_name_ct"] is None

    saved = await post_form(
        client, "/seller/onboarding", ADDRESS_FORM, token_from="/seller/onboarding"
    )
    assert saved.status_code == 303
    filled = await page(client, "/seller/onboarding")
    assert "Zanzibar Pottery Co" in filled.text and "ending 1111" in filled.text
    assert "93-1111111" not in filled.text and "123456789" not in filled.text.replace(
        "011000015", ""
    )
    submitted = await post_form(
        client, "/seller/onboarding/submit", {}, token_from="/seller/onboarding"
    )
    assert submitted.status_code == 303
    assert "Submitted" in (await page(client, "/seller/onboarding")).text

    # Shop profile and shipping (dollars typed, cents stored).
    shop_page = await page(client, "/seller/shop")
    assert 'action="/seller/shop/shipping"' in shop_page.text
    profile = await post_form(
        client,
        "/seller/shop",
        {"name": "Zanzibar Pottery", "description": "Stoneware."},
        token_from="/seller/shop",
    )
    assert profile.status_code == 303
    wrong = await post_form(
        client,
        "/seller/shop/shipping",
        {"default_handling_days": "99", "flat_shipping": "abc", "free_shipping_threshold": ""},
        token_from="/seller/shop",
    )
    assert wrong.status_code == 422
    shipping = await post_form(
        client,
        "/seller/shop/shipping",
        {"default_handling_days": "2", "flat_shipping": "5.99", "free_shipping_threshold": "50"},
        token_from="/seller/shop",
    )
    assert shipping.status_code == 303
    shop = await shop_row(runtime, seller.id)
    assert shop is not None
    assert (shop["flat_shipping_cents"], shop["free_shipping_threshold_cents"]) == (599, 5000)
    assert shop["description"] == "Stoneware." and shop["shipping_set_at"] is not None
    overview = await page(client, "/seller")
    assert 'id="check-shipping" data-done="true"' in overview.text
    assert 'id="check-warehouse" data-done="false"' in overview.text

    # Staff review in another browser.
    await create_user(
        runtime,
        email="ops@example.com",
        roles=("staff",),
        jurisdiction="US",
        staff_roles=("seller_ops",),
    )
    await api_login(browser, "ops@example.com")
    queue = await page(browser, "/staff/sellers")
    assert "zanzibar" in queue.text and "Zanzibar Pottery Co" not in queue.text
    application_id = row["id"]
    review = await page(browser, f"/staff/sellers/{application_id}")
    assert "Zanzibar Pottery Co" not in review.text and 'name="purpose"' in review.text
    opened = await post_form(
        browser,
        f"/staff/sellers/{application_id}/read",
        {"purpose": "seller_verification"},
        token_from=f"/staff/sellers/{application_id}",
    )
    assert opened.status_code == 200 and "Zanzibar Pottery Co" in opened.text
    assert "93-1111111" in opened.text
    denied = await post_form(
        browser,
        f"/staff/sellers/{application_id}/read",
        {"purpose": "curiosity"},
        token_from=f"/staff/sellers/{application_id}",
    )
    assert denied.status_code == 422 and "Zanzibar Pottery Co" not in denied.text

    empty = await post_form(
        browser,
        f"/staff/sellers/{application_id}/reject",
        {"reasons": "   "},
        token_from=f"/staff/sellers/{application_id}",
    )
    assert empty.status_code == 422
    rejected = await post_form(
        browser,
        f"/staff/sellers/{application_id}/reject",
        {"reasons": "Photo of ID is blurry\nAddress is a PO box"},
        token_from=f"/staff/sellers/{application_id}",
    )
    assert rejected.status_code == 303
    seen = await page(client, "/seller/onboarding")
    assert "Photo of ID is blurry" in seen.text and "Address is a PO box" in seen.text
    resubmitted = await post_form(
        client, "/seller/onboarding/submit", {}, token_from="/seller/onboarding"
    )
    assert resubmitted.status_code == 303
    approved = await post_form(
        browser,
        f"/staff/sellers/{application_id}/approve",
        {},
        token_from=f"/staff/sellers/{application_id}",
    )
    assert approved.status_code == 303
    public = await page(client, "/shops/zanzibar")
    assert "Zanzibar Pottery" in public.text and "Stoneware." in public.text
    assert (await client.get("/shops/unknown-shop", headers=HTML)).status_code == 404


async def test_review_pages_are_for_seller_ops_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(
        runtime,
        email="support@example.com",
        roles=("staff",),
        jurisdiction="US",
        staff_roles=("support",),
    )
    await api_login(client, "support@example.com")
    assert (await client.get("/staff/sellers", headers=HTML)).status_code == 403
    await create_user(runtime, email="plain@example.com")
    await api_login(client, "plain@example.com")
    assert (await client.get("/staff/sellers", headers=HTML)).status_code == 403
    assert (await client.get("/staff/sellers/sap_us_x", headers=HTML)).status_code == 403
