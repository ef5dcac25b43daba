"""Seller refunds of a checkout's order: money back at the provider, reversing ledger
entries, order status and history, an audit record; retries refund once; other sellers and
excess amounts are refused with nothing changed."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from shopreel.ledger.models import LedgerTransaction
from shopreel.orders.models import Order
from shopreel.payments.models import Payment, PaymentRefund
from shopreel.planes import CONTROL, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty.models import AuditEntry
from tests.checkout.support import buyer, ledger_sum, pay, start
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import new_warehouse, seller_principal, stocked, token_for
from tests.orders.helpers import signed_in

HTML = {"Accept": "text/html"}


async def _sold(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> tuple[Order, dict[str, str], str]:
    seller = await create_seller(runtime)
    principal = await seller_principal(runtime, seller)
    _, variants = await create_product(runtime, seller.shop, variants=(((), 2500),))
    warehouse = await new_warehouse(runtime, principal)
    await stocked(runtime, principal, [(variants[0].id, warehouse, 5)])
    shopper = await buyer(app, runtime, f"refund-buyer-{seller.shop.id}@example.com")
    checkout = (await start(client, shopper, [(variants[0].id, 2)])).json()
    assert (await pay(client, shopper, checkout["id"])).json()["status"] == "completed"
    async with runtime.databases.session(regional("us")) as session:
        order = await session.scalar(select(Order).where(Order.checkout_id == checkout["id"]))
    assert order is not None
    headers = await token_for(app, seller.email, ("orders:read", "orders:write"))
    return order, headers, seller.email


async def _state(runtime: Runtime, order_id: str) -> tuple[object, ...]:
    async with runtime.databases.session(regional("us")) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        payment = await session.get(Payment, order.payment_id)
        assert payment is not None
        refunds = await session.scalar(select(func.count()).select_from(PaymentRefund))
        ledger_rows = await session.scalar(select(func.count()).select_from(LedgerTransaction))
    async with runtime.databases.session(CONTROL) as session:
        audits = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == "order.refund")
        )
    return order.status, payment.refunded_cents, refunds, ledger_rows, audits


async def test_partial_then_full_refund_with_retries(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    order, seller, _ = await _sold(client, app, runtime)
    url = f"/api/v1/seller/orders/{order.id}/refunds"
    body = {"items_cents": 2500, "tax_cents": order.tax_cents // 2, "reason": "one was broken"}
    first = await client.post(url, json=body, headers={**seller, "Idempotency-Key": "r1"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "partially_refunded"
    again = await client.post(url, json=body, headers={**seller, "Idempotency-Key": "r1"})
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    status, refunded, refunds, _, audits = await _state(runtime, order.id)
    assert (status, refunded, refunds, audits) == (
        "partially_refunded",
        2500 + order.tax_cents // 2,
        1,
        1,
    )
    assert await ledger_sum(runtime) == 0

    left = first.json()
    rest = {
        "items_cents": left["left_items_cents"],
        "shipping_cents": left["left_shipping_cents"],
        "tax_cents": left["left_tax_cents"],
    }
    done = await client.post(url, json=rest, headers={**seller, "Idempotency-Key": "r2"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "refunded"
    assert done.json()["left_items_cents"] == 0
    status, refunded, refunds, _, audits = await _state(runtime, order.id)
    assert (status, refunded, refunds, audits) == ("refunded", order.total_cents, 2, 2)
    assert await ledger_sum(runtime) == 0


async def test_excess_and_other_sellers_are_refused_and_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    order, seller, _ = await _sold(client, app, runtime)
    _, other_seller, _ = await _sold(client, app, runtime)
    url = f"/api/v1/seller/orders/{order.id}/refunds"
    before = await _state(runtime, order.id)
    too_much = await client.post(
        url, json={"items_cents": 5001}, headers={**seller, "Idempotency-Key": "x1"}
    )
    assert too_much.status_code == 422 and too_much.json()["code"] == "refund_exceeds_order"
    foreign = await client.post(
        url, json={"items_cents": 100}, headers={**other_seller, "Idempotency-Key": "x2"}
    )
    assert foreign.status_code == 404 and foreign.json()["code"] == "order_not_found"
    nothing = await client.post(
        url, json={"items_cents": 0}, headers={**seller, "Idempotency-Key": "x3"}
    )
    assert nothing.status_code == 422 and nothing.json()["code"] == "invalid_refund"
    shopper_headers = (await buyer(app, runtime, "nosy@example.com")).headers
    as_buyer = await client.post(
        url, json={"items_cents": 100}, headers={**shopper_headers, "Idempotency-Key": "x4"}
    )
    assert as_buyer.status_code in (403, 404)
    assert await _state(runtime, order.id) == before


async def test_the_seller_center_refund_form(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    order, _, seller_email = await _sold(client, app, runtime)
    async with signed_in(app, seller_email) as seller:
        page = await seller.get(f"/seller/orders/{order.id}", headers=HTML)
        assert page.status_code == 200 and "Left to refund" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        key = re.search(r'name="refund_key" value="([^"]+)"', page.text)
        assert csrf and key
        form = {
            "csrf_token": csrf.group(1),
            "refund_key": key.group(1),
            "items": "25.00",
            "shipping": "0",
            "tax": "0",
            "reason": "scratched",
        }
        bad = await seller.post(
            f"/seller/orders/{order.id}/refund", data={**form, "items": "12,5"}, headers=HTML
        )
        assert bad.status_code == 422 and "dollars and cents" in bad.text
        done = await seller.post(f"/seller/orders/{order.id}/refund", data=form, headers=HTML)
        assert done.status_code == 303
        assert done.headers["location"] == f"/seller/orders/{order.id}?notice=refunded"
        twice = await seller.post(f"/seller/orders/{order.id}/refund", data=form, headers=HTML)
        assert twice.status_code == 303  # the same form refunds once
        after = await seller.get(done.headers["location"], headers=HTML)
        assert "Refund sent" in after.text and "Partially refunded" in after.text
    status, refunded, refunds, _, audits = await _state(runtime, order.id)
    assert (status, refunded, refunds, audits) == ("partially_refunded", 2500, 1, 1)


async def test_another_seller_cannot_refund_through_the_page(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    order, _, _ = await _sold(client, app, runtime)
    _, _, other_email = await _sold(client, app, runtime)
    before = await _state(runtime, order.id)
    async with signed_in(app, other_email) as other:
        own_page = await other.get("/seller/orders", headers=HTML)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', own_page.text)
        assert csrf
        refused = await other.post(
            f"/seller/orders/{order.id}/refund",
            data={"csrf_token": csrf.group(1), "refund_key": "k", "items": "1.00"},
            headers=HTML,
        )
        assert refused.status_code == 404
        page = await other.get(f"/seller/orders/{order.id}", headers=HTML)
        assert page.status_code == 404
    assert await _state(runtime, order.id) == before
