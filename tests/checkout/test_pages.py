"""The checkout pages driven like a browser without JavaScript: the session cookie, the
CSRF field of every form, and the card tokenized through the sandbox's public API exactly
as ``static/js/checkout.js`` does it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update

from shopreel.checkout.models import Checkout
from shopreel.inventory.models import InventoryLevel
from shopreel.kit.time import as_utc, utcnow
from shopreel.payments.models import Payment
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from tests.checkout.support import (
    active_holds,
    card_token,
    charges,
    count,
    level,
    orders_of,
    store,
)
from tests.fixtures.factories import PASSWORD, create_user
from tests.payments.helpers import CHALLENGE, DECLINE

HTML = {"accept": "text/html"}
FORM_ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Main St",
    "line2": "Apt 4",
    "city": "Austin",
    "state": "TX",
    "postal_code": "78701",
    "country": "US",
    "phone": "+1 512 555 0100",
}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def _login(client: httpx.AsyncClient, runtime: Runtime, email: str) -> str:
    """A new buyer, logged in through the login form; returns the buyer's id."""
    user = await create_user(runtime, email=email)
    page = await client.get("/login")
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    )
    assert response.status_code == 303, response.text
    return user.id


async def _add_to_cart(client: httpx.AsyncClient, variant_id: str, quantity: int) -> None:
    token = _csrf((await client.get("/cart")).text)
    added = await client.post(
        "/cart/items",
        data={"variant_id": variant_id, "quantity": str(quantity), "csrf_token": token},
    )
    assert added.status_code == 303 and added.headers["location"] == "/cart?notice=added"


async def _start(
    client: httpx.AsyncClient, extra: dict[str, str] | None = None, **address: str
) -> httpx.Response:
    form = (await client.get("/checkout")).text
    data = {**FORM_ADDRESS, **address, **(extra or {}), "csrf_token": _csrf(form)}
    return await client.post("/checkout", data=data)


def _checkout_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/checkout/(chk_us_\w+)", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def _pay(client: httpx.AsyncClient, checkout_id: str, card: str) -> httpx.Response:
    review = await client.get(f"/checkout/{checkout_id}")
    assert review.status_code == 200, review.text
    token = await card_token(client, card)  # what checkout.js does in the browser
    return await client.post(
        f"/checkout/{checkout_id}/pay", data={"csrf_token": _csrf(review.text), "token": token}
    )


async def _checkout(runtime: Runtime, checkout_id: str) -> Checkout:
    async with runtime.databases.session(regional("us")) as session:
        found = await session.get(Checkout, checkout_id)
        assert found is not None
        return found


async def _state(runtime: Runtime, checkout_id: str) -> tuple[Any, ...]:
    """Everything a page could change about a checkout."""
    found = await _checkout(runtime, checkout_id)
    payments = await count(runtime, Payment, Payment.reference == checkout_id)
    holds = await active_holds(runtime, checkout_id)
    return (found.status, found.version, found.payment_id, found.failure_code, payments, holds)


def _text(html: str) -> str:
    """The page's text with tags removed and spaces collapsed (for phrase checks)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_checkout_journey_from_cart_to_orders(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first = await store(runtime, 5, price=1999)
    second = await store(runtime, 3, price=1000)
    anonymous = await client.get("/checkout", headers=HTML)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/checkout"

    buyer_id = await _login(client, runtime, "ada@example.com")
    await _add_to_cart(client, first.variants[0], 2)
    await _add_to_cart(client, second.variants[0], 1)

    form = await client.get("/checkout")
    assert form.status_code == 200
    page = _text(form.text)
    # one shipping choice per seller; express = the standard fee ($5.99 platform default)
    # + $10.00 and one handling day; the first seller's $39.98 is under the free threshold
    for shop in (first, second):
        assert f'name="shipping:{shop.shop_id}" value="standard" checked' in form.text
        assert f'name="shipping:{shop.shop_id}" value="express"' in form.text
    assert "Standard: $5.99, ships after 2 handling days" in page
    assert "Express: $15.99, ships after 1 handling day" in page
    assert 'value="US" selected' in form.text

    started = await _start(client, {f"shipping:{second.shop_id}": "express"})
    checkout_id = _checkout_id(started)
    assert await level(runtime, first.variants[0]) == (5, 2, 0)
    assert await level(runtime, second.variants[0]) == (3, 1, 0)

    review = await client.get(f"/checkout/{checkout_id}")
    assert review.status_code == 200
    stored = await _checkout(runtime, checkout_id)
    text = _text(review.text)
    assert f"held for you until {as_utc(stored.expires_at):%H:%M} UTC" in text
    assert "$39.98" in text and "$10.00" in text  # the two sellers' items
    assert "Shipping: Express (ships after 1 handling day) $15.99" in text
    assert "Shipping: Standard (ships after 2 handling days) $5.99" in text
    assert f"${stored.total_cents // 100}.{stored.total_cents % 100:02d}" in text
    assert "Tax (6.25%)" in text  # Texas
    assert "1 Main St" in text and "Apt 4" in text and "Austin, TX 78701" in text
    # the card never posts to us: its inputs have no name; the form carries CSRF + token
    card_inputs = re.findall(
        r"<input[^>]*data-card-(?:number|exp-month|exp-year|cvc)[^>]*>", review.text
    )
    assert len(card_inputs) == 4
    assert all(" name=" not in tag for tag in card_inputs)
    pay_form = review.text.split('id="pay-form"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in pay_form and 'name="token"' in pay_form
    assert "Paying by card needs JavaScript" in review.text
    assert "4242 4242 4242 4242" in text and "4000 0000 0000 0002" in text
    assert "/static/js/checkout.js" in review.text

    paid = await _pay(client, checkout_id, "4242 4242 4242 4242")
    assert paid.status_code == 303, paid.text
    assert paid.headers["location"] == f"/checkout/{checkout_id}/done"
    done = await client.get(paid.headers["location"])
    assert done.status_code == 200
    orders = await orders_of(runtime, checkout_id)
    assert len(orders) == 2
    assert {o.buyer_id for o in orders} == {buyer_id}
    for order in orders:
        assert f'href="/orders/{order.id}"' in done.text
    assert "ending in" in done.text and "4242" in _text(done.text)
    assert f"${stored.total_cents // 100}.{stored.total_cents % 100:02d}" in _text(done.text)
    assert await charges(runtime, checkout_id) == 1
    assert await level(runtime, first.variants[0]) == (5, 0, 2)

    order_page = await client.get(f"/orders/{orders[0].id}")
    assert order_page.status_code == 200
    again = await client.get(f"/checkout/{checkout_id}")
    assert again.status_code == 303 and again.headers["location"].endswith("/done")
    cart_page = _text((await client.get("/cart")).text)
    assert "Your cart is empty" in cart_page


async def test_declined_card_says_why_and_keeps_the_items_held(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "bo@example.com")
    await _add_to_cart(client, shop.variants[0], 1)
    checkout_id = _checkout_id(await _start(client))

    declined = await _pay(client, checkout_id, DECLINE)
    assert declined.status_code == 402
    text = _text(declined.text)
    assert "Payment declined" in text
    assert "The card was declined. Try another card." in text
    assert "still held" in text and "nothing was charged" in text
    assert 'id="pay-form"' in declined.text  # another card may be tried on the same page
    stored = await _checkout(runtime, checkout_id)
    assert (stored.status, stored.failure_code) == ("reserved", "card_declined")
    assert await active_holds(runtime, checkout_id) == 1
    assert await charges(runtime, checkout_id) == 0
    assert await orders_of(runtime, checkout_id) == []

    retried = await _pay(client, checkout_id, "5555 5555 5555 4444")
    assert retried.headers["location"] == f"/checkout/{checkout_id}/done"
    assert await charges(runtime, checkout_id) == 1


async def test_a_pay_form_without_a_token_asks_for_javascript(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "cy@example.com")
    await _add_to_cart(client, shop.variants[0], 1)
    checkout_id = _checkout_id(await _start(client))
    before = await _state(runtime, checkout_id)
    review = await client.get(f"/checkout/{checkout_id}")
    refused = await client.post(
        f"/checkout/{checkout_id}/pay", data={"csrf_token": _csrf(review.text), "token": ""}
    )
    assert refused.status_code == 422
    assert "Paying by card needs JavaScript" in _text(refused.text)
    assert await _state(runtime, checkout_id) == before


async def test_out_of_stock_is_shown_on_the_form_with_the_input_kept(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "di@example.com")
    await _add_to_cart(client, shop.variants[0], 3)
    async with runtime.databases.transaction(GLOBAL) as session:
        await session.execute(
            update(InventoryLevel)
            .where(InventoryLevel.variant_id == shop.variants[0])
            .values(on_hand=1)
        )

    refused = await _start(client, line1="9 Elm Rd", city="Dallas", postal_code="75201")
    assert refused.status_code == 409
    text = _text(refused.text)
    assert "Not enough stock" in text
    assert "you asked for 3, only 1 left." in text
    assert 'value="9 Elm Rd"' in refused.text and 'value="Dallas"' in refused.text
    assert 'value="75201"' in refused.text
    assert await count(runtime, Checkout) == 0
    assert await active_holds(runtime) == 0
    assert await level(runtime, shop.variants[0]) == (1, 0, 0)


async def test_an_invalid_address_shows_a_message_per_field(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "ed@example.com")
    await _add_to_cart(client, shop.variants[0], 1)

    refused = await _start(client, state="ZZ", postal_code="ABCDE", city="")
    assert refused.status_code == 422
    text = _text(refused.text)
    assert "Check the shipping address" in text
    assert "State must be a U.S. state code such as CA." in text
    assert "ZIP / postal code must be a ZIP code (12345 or 12345-6789)." in text
    assert "City is required." in text
    assert 'href="#address-state"' in refused.text
    assert 'value="ZZ"' in refused.text and 'value="1 Main St"' in refused.text
    assert await count(runtime, Checkout) == 0
    assert await active_holds(runtime) == 0


async def test_empty_cart_and_unavailable_items_are_explained(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from shopreel.catalog.models import Product

    shop = await store(runtime, 3)
    await _login(client, runtime, "fay@example.com")
    empty_form = await client.get("/checkout")
    assert "Your cart is empty" in _text(empty_form.text)
    refused = await client.post(
        "/checkout", data={**FORM_ADDRESS, "csrf_token": _csrf(empty_form.text)}
    )
    assert refused.status_code == 422 and "Your cart is empty" in _text(refused.text)

    await _add_to_cart(client, shop.variants[0], 1)
    form = await client.get("/checkout")
    async with runtime.databases.transaction(GLOBAL) as session:
        product_id = await session.scalar(select(Product.id).where(Product.shop_id == shop.shop_id))
        await session.execute(
            update(Product).where(Product.id == product_id).values(status="draft")
        )
    gone = await client.post("/checkout", data={**FORM_ADDRESS, "csrf_token": _csrf(form.text)})
    assert gone.status_code == 422
    text = _text(gone.text)
    assert "Some items are not available" in text and "Remove them from your cart" in text
    assert 'href="/cart"' in gone.text
    assert await count(runtime, Checkout) == 0


async def test_another_buyers_checkout_is_not_found_and_nothing_changes(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "gus@example.com")
    await _add_to_cart(client, shop.variants[0], 1)
    checkout_id = _checkout_id(await _start(client))
    before = await _state(runtime, checkout_id)

    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 51001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await _login(other, runtime, "hal@example.com")
        token = _csrf((await other.get("/cart")).text)
        card = await card_token(other)
        for method, path, data in (
            ("GET", f"/checkout/{checkout_id}", None),
            ("GET", f"/checkout/{checkout_id}/done", None),
            ("GET", f"/checkout/{checkout_id}/return", None),
            ("POST", f"/checkout/{checkout_id}/pay", {"csrf_token": token, "token": card}),
            ("POST", f"/checkout/{checkout_id}/cancel", {"csrf_token": token}),
        ):
            response = await other.request(method, path, data=data, headers=HTML)
            assert response.status_code == 404, (path, response.text)
            assert "Not found" in response.text
    assert await _state(runtime, checkout_id) == before
    assert await charges(runtime, checkout_id) == 0


async def test_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "ivy@example.com")
    await _add_to_cart(client, shop.variants[0], 1)
    no_token = await client.post("/checkout", data=FORM_ADDRESS)
    assert no_token.status_code == 403
    assert await count(runtime, Checkout) == 0
    assert await active_holds(runtime) == 0

    checkout_id = _checkout_id(await _start(client))
    before = await _state(runtime, checkout_id)
    card = await card_token(client)
    refused = await client.post(f"/checkout/{checkout_id}/pay", data={"token": card})
    assert refused.status_code == 403
    forged = await client.post(
        f"/checkout/{checkout_id}/cancel", data={"csrf_token": "forged-token"}
    )
    assert forged.status_code == 403
    assert await _state(runtime, checkout_id) == before
    assert await charges(runtime, checkout_id) == 0


async def test_cancel_releases_the_items_and_returns_to_the_cart(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "jo@example.com")
    await _add_to_cart(client, shop.variants[0], 2)
    checkout_id = _checkout_id(await _start(client))
    assert await level(runtime, shop.variants[0]) == (3, 2, 0)
    review = await client.get(f"/checkout/{checkout_id}")
    cancelled = await client.post(
        f"/checkout/{checkout_id}/cancel", data={"csrf_token": _csrf(review.text)}
    )
    assert cancelled.status_code == 303 and cancelled.headers["location"] == "/cart"
    assert (await _checkout(runtime, checkout_id)).status == "cancelled"
    assert await level(runtime, shop.variants[0]) == (3, 0, 0)
    closed = await client.get(f"/checkout/{checkout_id}")
    assert "This checkout was cancelled" in _text(closed.text)
    assert 'id="pay-form"' not in closed.text


async def test_an_expired_hold_charges_nothing_and_offers_a_new_start(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "kim@example.com")
    await _add_to_cart(client, shop.variants[0], 1)
    checkout_id = _checkout_id(await _start(client))
    review = await client.get(f"/checkout/{checkout_id}")
    async with runtime.databases.transaction(regional("us")) as session:
        await session.execute(
            update(Checkout)
            .where(Checkout.id == checkout_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    lapsed = await client.get(f"/checkout/{checkout_id}")
    assert "The hold ran out" in _text(lapsed.text) and 'id="pay-form"' not in lapsed.text
    assert (await _checkout(runtime, checkout_id)).status == "reserved"  # only shown
    # a form still open in another tab is answered the same way, and nothing is charged
    token = await card_token(client)
    expired = await client.post(
        f"/checkout/{checkout_id}/pay", data={"csrf_token": _csrf(review.text), "token": token}
    )
    assert expired.status_code == 409
    text = _text(expired.text)
    assert "The hold ran out" in text and "Nothing was charged" in text
    assert 'href="/checkout"' in expired.text and 'id="pay-form"' not in expired.text
    stored = await _checkout(runtime, checkout_id)
    assert (stored.status, stored.failure_code) == ("expired", "reservation_expired")
    assert await active_holds(runtime, checkout_id) == 0
    assert await charges(runtime, checkout_id) == 0
    assert await count(runtime, Payment, Payment.reference == checkout_id) == 0


async def test_a_card_with_a_second_step_returns_to_the_checkout(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    shop = await store(runtime, 3)
    await _login(client, runtime, "lu@example.com")
    await _add_to_cart(client, shop.variants[0], 1)
    checkout_id = _checkout_id(await _start(client))

    pending = await _pay(client, checkout_id, CHALLENGE)
    assert pending.status_code == 303
    url = urlsplit(pending.headers["location"])
    assert url.path.startswith("/payments/sandbox/challenge/")
    assert (await _checkout(runtime, checkout_id)).status == "requires_action"
    challenge = await client.get(f"{url.path}?{url.query}")
    secret = dict(p.split("=", 1) for p in url.query.split("&"))["secret"]
    approved = await client.post(
        url.path,
        data={"csrf_token": _csrf(challenge.text), "secret": secret, "decision": "approve"},
    )
    assert approved.status_code == 303
    assert approved.headers["location"].endswith(f"/checkout/{checkout_id}/return")
    returned = await client.get(f"/checkout/{checkout_id}/return")
    assert returned.status_code == 303
    assert returned.headers["location"] == f"/checkout/{checkout_id}/done"
    assert len(await orders_of(runtime, checkout_id)) == 1
