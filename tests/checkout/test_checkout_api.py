"""Checkout through the HTTP API: start, pay, decline, second step, failed capture, expiry,
multi-seller orders and their ledger sales, and the cross-user denials."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI

from shopreel.checkout import service
from shopreel.checkout.models import Checkout
from shopreel.kit.time import utcnow
from shopreel.ledger import service as ledger
from shopreel.ledger.rules import AccountRef
from shopreel.payments.models import Payment
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.checkout.support import (
    ADDRESS,
    active_holds,
    buyer,
    charges,
    count,
    key,
    ledger_sum,
    level,
    orders_of,
    pay,
    start,
    store,
)
from tests.payments.helpers import CAPTURE_FAILS, CHALLENGE, DECLINE, card_token


async def test_start_prices_and_holds_then_pay_makes_an_order(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 5)
    (variant,) = shop.variants
    ada = await buyer(app, runtime, "ada@example.com")

    started = await start(client, ada, [(variant, 2)])
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["status"] == "reserved"
    # 2 x 19.99 = 39.98; under the $50 free-shipping threshold: 5.99 platform default;
    # Texas 6.25 % on the items (the table says whether shipping is taxed)
    assert body["totals"]["subtotal_cents"] == 3998
    assert body["totals"]["shipping_cents"] == 599
    assert body["totals"]["total_cents"] == (3998 + 599 + body["totals"]["tax_cents"])
    assert body["totals"]["tax_cents"] >= 250  # 6.25 % of 39.98, rounded
    assert body["ship_to"]["city"] == "Austin"
    assert await level(runtime, variant) == (5, 2, 0)

    paid = await pay(client, ada, body["id"])
    assert paid.status_code == 200, paid.text
    done = paid.json()
    assert done["status"] == "completed"
    assert len(done["orders"]) == 1
    assert done["orders"][0]["total_cents"] == body["totals"]["total_cents"]
    assert done["payment"]["status"] == "captured"
    assert await level(runtime, variant) == (5, 0, 2)
    assert await charges(runtime, body["id"]) == 1
    assert await ledger_sum(runtime) == 0
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        clearing = await ledger.balance_of(uow.region(), AccountRef("buyer_clearing", "USD"))
    assert clearing == body["totals"]["total_cents"]

    again = await client.get(f"/api/v1/checkouts/{body['id']}", headers=ada.headers)
    assert again.status_code == 200 and again.json()["status"] == "completed"


async def test_two_sellers_two_orders_one_charge_and_express_shipping(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    first = await store(runtime, 3, price=6000)
    second = await store(runtime, 3, price=1000)
    bo = await buyer(app, runtime, "bo@example.com")
    started = await start(
        client,
        bo,
        [(first.variants[0], 1), (second.variants[0], 1)],
        shipping={second.shop_id: "express"},
    )
    assert started.status_code == 201, started.text
    parts = {p["shop_id"]: p for p in started.json()["sellers"]}
    assert parts[first.shop_id]["shipping_cents"] == 0  # 60.00 is over the free threshold
    assert parts[second.shop_id]["shipping_cents"] == 599 + 1000  # express surcharge
    assert parts[second.shop_id]["shipping_method"] == "express"

    paid = await pay(client, bo, started.json()["id"])
    assert paid.status_code == 200, paid.text
    orders = await orders_of(runtime, started.json()["id"])
    assert sorted(o.shop_id for o in orders) == sorted([first.shop_id, second.shop_id])
    assert sum(o.total_cents for o in orders) == started.json()["totals"]["total_cents"]
    assert await charges(runtime, started.json()["id"]) == 1
    assert await ledger_sum(runtime) == 0


async def test_a_declined_card_keeps_the_hold_and_another_card_pays(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 1)
    cy = await buyer(app, runtime, "cy@example.com")
    checkout_id = (await start(client, cy, [(shop.variants[0], 1)])).json()["id"]

    declined = await pay(client, cy, checkout_id, card=DECLINE)
    assert declined.status_code == 402
    assert declined.headers["content-type"].startswith("application/problem+json")
    assert declined.json()["code"] == "payment_declined"
    assert declined.json()["decline_code"] == "card_declined"
    assert await level(runtime, shop.variants[0]) == (1, 1, 0)  # still held for cy
    assert await orders_of(runtime, checkout_id) == []

    paid = await pay(client, cy, checkout_id)
    assert paid.status_code == 200 and paid.json()["status"] == "completed"
    assert await count(runtime, Payment, Payment.reference == checkout_id) == 2
    assert await charges(runtime, checkout_id) == 1


async def test_the_second_step_then_confirm(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 2)
    di = await buyer(app, runtime, "di@example.com")
    checkout_id = (await start(client, di, [(shop.variants[0], 1)])).json()["id"]
    pending = await pay(client, di, checkout_id, card=CHALLENGE)
    assert pending.status_code == 200, pending.text
    assert pending.json()["status"] == "requires_action"
    url = pending.json()["payment"]["next_action_url"]
    match = re.search(r"(/payments/sandbox/challenge/[^?]+)\?secret=(.+)$", url)
    assert match
    path, secret = match.groups()
    page = await client.get(path, params={"secret": secret}, headers={"accept": "text/html"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    await client.post(
        path, data={"csrf_token": csrf.group(1), "secret": secret, "decision": "approve"}
    )
    confirmed = await client.post(
        f"/api/v1/checkouts/{checkout_id}/confirm",
        headers={**di.headers, "Idempotency-Key": key()},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    assert len(await orders_of(runtime, checkout_id)) == 1


async def test_a_failed_capture_releases_the_stock_and_charges_nothing(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 1)
    ed = await buyer(app, runtime, "ed@example.com")
    checkout_id = (await start(client, ed, [(shop.variants[0], 1)])).json()["id"]
    failed = await pay(client, ed, checkout_id, card=CAPTURE_FAILS)
    assert failed.status_code == 402, failed.text
    assert failed.json()["code"] == "payment_failed"
    assert await level(runtime, shop.variants[0]) == (1, 0, 0)
    assert await charges(runtime, checkout_id) == 0
    assert await orders_of(runtime, checkout_id) == []
    closed = await pay(client, ed, checkout_id)
    assert closed.status_code == 409 and closed.json()["code"] == "checkout_closed"


async def test_out_of_stock_holds_nothing(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 1, 5)
    fay = await buyer(app, runtime, "fay@example.com")
    refused = await start(client, fay, [(shop.variants[1], 2), (shop.variants[0], 2)])
    assert refused.status_code == 409
    assert refused.json()["code"] == "out_of_stock"
    assert refused.json()["short"][0]["variant_id"] == shop.variants[0]
    assert await level(runtime, shop.variants[1]) == (5, 0, 0)
    assert await active_holds(runtime) == 0


async def test_bad_input_is_refused_with_codes(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    gus = await buyer(app, runtime, "gus@example.com")
    bad_state = await start(
        client, gus, [(shop.variants[0], 1)], address={**ADDRESS, "state": "ZZ"}
    )
    assert bad_state.status_code == 422 and bad_state.json()["code"] == "invalid_address"
    assert "state" in bad_state.json()["fields"]
    unknown = await start(client, gus, [("var_nope", 1)])
    assert unknown.status_code == 422 and unknown.json()["code"] == "line_unavailable"
    bad_ship = await start(client, gus, [(shop.variants[0], 1)], shipping={shop.shop_id: "drone"})
    assert bad_ship.status_code == 422 and bad_ship.json()["code"] == "invalid_shipping_choice"
    no_key = await client.post(
        "/api/v1/checkouts",
        json={"address": ADDRESS, "lines": [{"variant_id": shop.variants[0], "quantity": 1}]},
        headers=gus.headers,
    )
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    assert await active_holds(runtime) == 0


async def test_an_expired_hold_is_refused_and_nothing_is_charged(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 2)
    hal = await buyer(app, runtime, "hal@example.com")
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        from shopreel.accounts import service as accounts
        from shopreel.accounts.models import User

        user = await uow.region().get(User, hal.id)
        assert user is not None
        principal = await accounts.load_principal(uow, runtime, user, auth="session")
        old = await service.start_checkout(
            uow,
            runtime,
            principal,
            address=ADDRESS,
            lines=[(shop.variants[0], 1)],
            now=utcnow() - timedelta(minutes=11),
        )
        checkout_id = old.id
    refused = await pay(client, hal, checkout_id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "reservation_expired"
    assert await level(runtime, shop.variants[0]) == (2, 0, 0)
    assert await charges(runtime, checkout_id) == 0
    async with runtime.databases.session(regional("us")) as session:
        row = await session.get(Checkout, checkout_id)
        assert row is not None and row.status == "expired"


async def test_another_buyer_cannot_see_pay_or_cancel_a_checkout(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 2)
    owner = await buyer(app, runtime, "own@example.com")
    started = (await start(client, owner, [(shop.variants[0], 1)])).json()
    checkout_id = started["id"]
    token = await card_token(client)
    for email, country in (("other@example.com", "US"), ("abroad@example.com", "FR")):
        intruder = await buyer(app, runtime, email, country)
        answers = [
            await client.get(f"/api/v1/checkouts/{checkout_id}", headers=intruder.headers),
            await client.post(
                f"/api/v1/checkouts/{checkout_id}/pay",
                json={"token": token},
                headers={**intruder.headers, "Idempotency-Key": key()},
            ),
            await client.post(
                f"/api/v1/checkouts/{checkout_id}/confirm",
                headers={**intruder.headers, "Idempotency-Key": key()},
            ),
            await client.post(
                f"/api/v1/checkouts/{checkout_id}/cancel",
                headers={**intruder.headers, "Idempotency-Key": key()},
            ),
        ]
        for answer in answers:
            assert answer.status_code == 404, answer.text
            assert answer.json()["code"] == "checkout_not_found"
    # nothing changed: still held for the owner, no payment, no order
    assert await level(runtime, shop.variants[0]) == (2, 1, 0)
    assert await count(runtime, Payment, Payment.reference == checkout_id) == 0
    mine = await client.get(f"/api/v1/checkouts/{checkout_id}", headers=owner.headers)
    assert mine.json()["status"] == "reserved"
    assert mine.json()["expires_at"] == started["expires_at"]


async def test_cancel_gives_the_stock_back(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    shop = await store(runtime, 2)
    ivy = await buyer(app, runtime, "ivy@example.com")
    checkout_id = (await start(client, ivy, [(shop.variants[0], 2)])).json()["id"]
    cancelled = await client.post(
        f"/api/v1/checkouts/{checkout_id}/cancel", headers={**ivy.headers, "Idempotency-Key": key()}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert await level(runtime, shop.variants[0]) == (2, 0, 0)
    closed = await pay(client, ivy, checkout_id)
    assert closed.status_code == 409 and closed.json()["code"] == "checkout_closed"


async def test_checkout_of_the_cart_empties_what_was_bought(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    first = await store(runtime, 5)
    second = await store(runtime, 5, price=700)
    jan = await buyer(app, runtime, "jan@example.com")
    empty = await start(client, jan, None)
    assert empty.status_code == 422 and empty.json()["code"] == "cart_empty"
    for variant, quantity in ((first.variants[0], 2), (second.variants[0], 3)):
        added = await client.post(
            "/api/v1/cart/items",
            json={"variant_id": variant, "quantity": quantity},
            headers=jan.headers,
        )
        assert added.status_code == 200, added.text
    started = await start(client, jan, None)
    assert started.status_code == 201, started.text
    assert {(p["shop_id"], p["lines"][0]["quantity"]) for p in started.json()["sellers"]} == {
        (first.shop_id, 2),
        (second.shop_id, 3),
    }
    paid = await pay(client, jan, started.json()["id"])
    assert paid.status_code == 200 and len(paid.json()["orders"]) == 2
    cart = await client.get("/api/v1/cart", headers=jan.headers)
    assert cart.status_code == 200
    assert cart.json()["item_count"] == 0, cart.json()
