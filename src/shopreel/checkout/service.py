"""Checkout use cases: start (price and reserve), pay (authorize, claim, capture, orders,
ledger), confirm (after the card's second step), cancel, and :func:`finalize`, which the
recovery job also calls.

Order of effects in :func:`finalize`, chosen so that a crash between any two leaves a state
the recovery job can finish or undo (``docs/checkout.md`` has the table):

1. the payment is **authorized** (money held, not taken);
2. the stock is **claimed** (reserved -> sold, global plane, own transaction): if the hold
   ran out, the authorization is voided and nobody is charged;
3. the payment is **captured** (the provider's idempotency key is derived from our payment
   id, so a retry never charges twice); a failed capture gives the stock back;
4. the **orders** (one per seller), their **ledger** sales and the checkout's ``completed``
   status are written in the buyer's regional transaction, committed by the caller (with
   the stored idempotent response, when called from the API).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from shopreel.accounts.principal import Principal
from shopreel.accounts.service import user_data_key
from shopreel.catalog.models import ProductStatus, ShopStatus
from shopreel.checkout import faults, repository, rules
from shopreel.checkout.errors import (
    ActionRequired,
    CheckoutClosed,
    CheckoutNotFound,
    InvalidAddress,
    InvalidCheckout,
    LineUnavailable,
    PaymentDeclined,
    PaymentFailed,
)
from shopreel.checkout.models import Checkout, CheckoutStatus
from shopreel.inventory import repository as inventory_repository
from shopreel.inventory import reservations
from shopreel.inventory.errors import OutOfStock, ReservationExpired, ReservationNotFound
from shopreel.inventory.rules import DealCap, ReservationLine
from shopreel.kit.ids import new_id, region_of
from shopreel.kit.time import as_utc, utcnow
from shopreel.ledger import service as ledger
from shopreel.orders.errors import OrderCreationConflict
from shopreel.payments import service as payments
from shopreel.payments.models import Payment
from shopreel.payments.provider import DECLINE_MESSAGES
from shopreel.payments.rules import PaymentStatus
from shopreel.pricing import (
    CartBreakdown,
    Destination,
    Discount,
    LineInput,
    PricingError,
    SellerInput,
    price_cart,
    settings_from_shop,
)
from shopreel.promotions import rules as deal_rules
from shopreel.promotions.models import FlashDeal
from shopreel.promotions.service import active_deals
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork

log = logging.getLogger(__name__)

_S = CheckoutStatus
_P = PaymentStatus
HELD: frozenset[str] = frozenset({_P.AUTHORIZED, _P.CAPTURED})
"""Payment statuses in which the buyer's money is held or taken."""
RETRYABLE: frozenset[str] = frozenset({_P.DECLINED, _P.VOIDED, _P.FAILED})
"""Payment statuses after which a new payment attempt may be made."""


def address_context(checkout_id: str) -> str:
    return f"checkouts.address:{checkout_id}"


# ---- reading ------------------------------------------------------------------------------


async def get_checkout(
    uow: UnitOfWork, checkout_id: str, *, buyer_id: str, for_update: bool = False
) -> Checkout:
    """The buyer's own checkout; anyone else's (or another region's) is 404."""
    region = region_of(checkout_id)
    if region is None or region != region_of(buyer_id) or region not in uow.databases.regions:
        raise CheckoutNotFound("No such checkout.")
    found = await repository.checkout(uow.region(region), checkout_id, for_update=for_update)
    if found is None or found.buyer_id != buyer_id:
        raise CheckoutNotFound("No such checkout.")
    return found


async def load_checkout(uow: UnitOfWork, checkout_id: str) -> Checkout:
    """System access (recovery job): no ownership check."""
    region = region_of(checkout_id)
    if region is None or region not in uow.databases.regions:
        raise CheckoutNotFound("No such checkout.")
    found = await repository.checkout(uow.region(region), checkout_id)
    if found is None:
        raise CheckoutNotFound("No such checkout.")
    return found


async def address_of(uow: UnitOfWork, runtime: Runtime, checkout: Checkout) -> dict[str, str]:
    """The decrypted ship-to address (``{}`` once the buyer's key is shredded)."""
    key = await user_data_key(runtime, uow.region(checkout.region), checkout.buyer_id)
    if key is None:
        return {}
    plain = runtime.cipher(checkout.region).decrypt_text(
        key, checkout.address_ct, address_context(checkout.id)
    )
    loaded: dict[str, str] = json.loads(plain)
    return loaded


def breakdown_of(checkout: Checkout) -> CartBreakdown:
    return CartBreakdown.from_json(checkout.breakdown)


async def current_payment(uow: UnitOfWork, checkout: Checkout) -> Payment | None:
    if checkout.payment_id is None:
        return None
    return await payments.load_payment(uow, checkout.payment_id)


# ---- starting -----------------------------------------------------------------------------


async def start_checkout(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    *,
    address: Mapping[str, Any],
    lines: Sequence[tuple[str, int]] | None = None,
    shipping: Mapping[str, str] | None = None,
    checkout_id: str | None = None,
    first_attempt: bool = False,
    now: datetime | None = None,
) -> Checkout:
    """Price the lines (default: the buyer's cart) for the address and hold their stock
    until ``now + reservation TTL``. Nothing is held when anything is refused.

    ``first_attempt``: the caller knows no earlier attempt of this request can have held
    stock under ``checkout_id`` (the idempotency claim's first attempt), so a sold-out line
    may be refused from a snapshot alone; otherwise the reservation decides, which finds an
    earlier attempt's holds."""
    now = as_utc(now) if now else utcnow()
    region = principal.region
    from_cart = lines is None
    if lines is None:
        from shopreel.cart import service as cart

        cart_lines = await cart.checkout_lines(uow, principal.id)
        lines = [(line.variant_id, line.quantity) for line in cart_lines]
    merged = rules.merge_lines(list(lines))
    parsed = rules.parse_address(address)

    variant_ids = [v for v, _ in merged]
    found = await repository.offers(uow.global_, variant_ids)
    deals = await active_deals(uow.global_, variant_ids, now)
    best = await inventory_repository.best_available(uow.global_, variant_ids)
    # The catalog read is over: end its transaction before holding stock, so a request
    # never keeps one pooled connection idle while it waits for another.
    await uow.global_.commit()
    bad = [
        v
        for v, _ in merged
        if v not in found
        or found[v].product.status != ProductStatus.LIVE
        or found[v].shop.status != ShopStatus.APPROVED
    ]
    if bad:
        raise LineUnavailable(
            "Some items can no longer be bought (not on sale, or removed).",
            extra={"variant_ids": bad},
        )
    short = [
        {"variant_id": v, "requested": q, "available": best.get(v, 0)}
        for v, q in merged
        if best.get(v, 0) < q
    ]
    if short and first_attempt:
        # Refused from a snapshot, before any lock or write: a sold-out SKU costs its
        # buyers one read (the reservation would refuse them all the same).
        raise OutOfStock(
            "Not enough stock for: "
            + ", ".join(str(x["variant_id"]) for x in short)
            + ". Nothing was reserved.",
            extra={"short": short},
        )
    currencies = {found[v].variant.currency for v, _ in merged}
    if len(currencies) != 1:
        raise InvalidCheckout("A checkout is paid in one currency; split the items.")
    currency = currencies.pop()

    shops = {found[v].shop.id: found[v].shop for v, _ in merged}  # first-seen order
    shop_ids = list(shops)
    choices = rules.shipping_choices(shipping, shop_ids)
    sellers = [
        SellerInput(
            seller_id=shop_id,
            lines=tuple(
                LineInput(
                    line_id=variant_id,
                    unit_price_cents=found[variant_id].variant.price_cents,
                    quantity=quantity,
                    requires_shipping=found[variant_id].variant.requires_shipping,
                    taxable=found[variant_id].variant.taxable,
                    currency=currency,
                    discounts=_deal_discount(deals.get(variant_id), found[variant_id], quantity),
                )
                for variant_id, quantity in merged
                if found[variant_id].shop.id == shop_id
            ),
            shipping=rules.shipping_settings(choices[shop_id], settings_from_shop(shops[shop_id])),
        )
        for shop_id in shop_ids
    ]
    try:
        destination = Destination(parsed.country, parsed.state or None)
        breakdown = price_cart(sellers, destination, currency=currency)
    except PricingError as error:
        raise InvalidAddress(f"Cannot price this checkout: {error}") from error
    if breakdown.totals.total_cents < 1:
        raise InvalidCheckout("The checkout total must be at least one cent.")

    checkout_id = checkout_id or new_id("chk", region)
    holds = await reservations.reserve(
        runtime,
        [
            ReservationLine(
                variant_id,
                quantity,
                cap=DealCap(deals[variant_id].id, deals[variant_id].max_per_buyer)
                if variant_id in deals
                else None,
            )
            for variant_id, quantity in merged
        ],
        reference=checkout_id,
        buyer_id=principal.id,
        now=now,
    )
    try:
        return await _write_checkout(
            uow,
            runtime,
            principal,
            checkout_id,
            now,
            merged,
            found,
            deals,
            parsed,
            choices,
            breakdown,
            from_cart,
            min(h.expires_at for h in holds),
        )
    except BaseException:
        # Nothing will pay for these holds: give the stock back now, not at the TTL.
        with suppress(Exception):
            await reservations.release(runtime, checkout_id, now=now)
        raise


async def _write_checkout(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    checkout_id: str,
    now: datetime,
    merged: Sequence[tuple[str, int]],
    found: Mapping[str, repository.Offer],
    deals: Mapping[str, FlashDeal],
    parsed: rules.Address,
    choices: Mapping[str, rules.ShippingMethod],
    breakdown: CartBreakdown,
    from_cart: bool,
    expires_at: datetime,
) -> Checkout:
    region = principal.region
    session = uow.region(region)
    key = await user_data_key(runtime, session, principal.id)
    if key is None:
        raise InvalidCheckout("This account's data key is gone (account deleted).")
    sealed = runtime.cipher(region).encrypt(
        key, json.dumps(parsed.as_dict(), sort_keys=True), address_context(checkout_id)
    )
    checkout = Checkout(
        id=checkout_id,
        region=region,
        buyer_id=principal.id,
        status=_S.RESERVED.value,
        currency=breakdown.currency,
        lines=[_line_facts(found[v], q, deals.get(v)) for v, q in merged],
        from_cart=from_cart,
        shipping_choices={k: v.value for k, v in choices.items()},
        breakdown=breakdown.to_json(),
        total_cents=breakdown.totals.total_cents,
        address_ct=sealed,
        ship_to_country=parsed.country,
        ship_to_state=parsed.state,
        expires_at=expires_at,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(checkout)
    await session.flush()
    return checkout


def _deal_discount(
    deal: FlashDeal | None, offer: repository.Offer, quantity: int
) -> tuple[Discount, ...]:
    """A flash deal is a fixed discount of (list price - deal price) per unit."""
    if deal is None:
        return ()
    off = deal_rules.discount_cents(offer.variant.price_cents, deal.deal_price_cents, quantity)
    return (Discount.fixed(off, label=f"deal:{deal.id}"),) if off else ()


def _line_facts(
    offer: repository.Offer, quantity: int, deal: FlashDeal | None = None
) -> dict[str, Any]:
    return {
        "deal_id": deal.id if deal else None,
        "variant_id": offer.variant.id,
        "product_id": offer.product.id,
        "shop_id": offer.shop.id,
        "shop_name": offer.shop.name,
        "title": offer.product.title,
        "sku": offer.variant.sku or None,
        "options": dict(offer.variant.options or {}),
        "quantity": quantity,
        "unit_price_cents": offer.variant.price_cents,
    }


# ---- paying -------------------------------------------------------------------------------


async def pay(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    checkout_id: str,
    *,
    token: str,
    return_url: str | None = None,
    now: datetime | None = None,
) -> Checkout:
    """Pay for the checkout with a card token: ``completed`` (orders written),
    ``requires_action`` (the card's second step; then :func:`confirm`), or a refusal:
    402 ``payment_declined`` (the stock stays held: pay again with another card), 409
    ``reservation_expired`` (nothing charged), 409 ``checkout_closed``."""
    now = as_utc(now) if now else utcnow()
    checkout = await get_checkout(uow, checkout_id, buyer_id=principal.id)
    if checkout.status == _S.COMPLETED:
        return checkout
    if checkout.status in (_S.EXPIRED, _S.CANCELLED):
        raise CheckoutClosed(f"This checkout is {checkout.status}; start a new one.")
    payment = await current_payment(uow, checkout)
    if payment is None or payment.status in RETRYABLE:
        if as_utc(checkout.expires_at) <= now:
            await _expire(uow, runtime, checkout, now)
        payment = await _new_attempt(uow, checkout, now)
    await faults.boundary("pay.payment_created")
    payment = await payments.authorize_payment(
        uow, runtime, payment.id, buyer_id=principal.id, token=token, return_url=return_url
    )
    await faults.boundary("pay.authorized")
    return await _after_authorization(uow, runtime, checkout, payment, now)


async def _new_attempt(uow: UnitOfWork, checkout: Checkout, now: datetime) -> Payment:
    """A new payment attempt for the checkout, unless a concurrent request just started
    one: then that one is used (its provider keys make a second authorization of it return
    the first, so the buyer is charged once)."""
    session = uow.region(checkout.region)
    expected = checkout.payment_id
    payment = await payments.create_payment(
        uow,
        buyer_id=checkout.buyer_id,
        amount_cents=checkout.total_cents,
        currency=checkout.currency,
        reference=checkout.id,
    )
    if await repository.take_payment_slot(
        session, checkout.id, expected=expected, payment_id=payment.id, now=now
    ):
        await session.refresh(checkout)
        return payment
    await session.rollback()  # drops our unused attempt
    await session.refresh(checkout)
    winner = await current_payment(uow, checkout)
    if winner is None:  # the slot was taken, so it names a payment
        raise InvalidCheckout("The checkout's payment attempt vanished; try again.")
    return winner


async def confirm(
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    checkout_id: str,
    *,
    now: datetime | None = None,
) -> Checkout:
    """After the card's second step: finish the checkout, or refuse like :func:`pay`."""
    now = as_utc(now) if now else utcnow()
    checkout = await get_checkout(uow, checkout_id, buyer_id=principal.id)
    if checkout.status == _S.COMPLETED:
        return checkout
    if checkout.status in (_S.EXPIRED, _S.CANCELLED):
        raise CheckoutClosed(f"This checkout is {checkout.status}; start a new one.")
    payment = await current_payment(uow, checkout)
    if payment is None:
        raise ActionRequired("This checkout has no payment to confirm; pay first.")
    if payment.status == _P.REQUIRES_ACTION:
        payment = await payments.confirm_payment_action(
            uow, runtime, payment.id, buyer_id=principal.id
        )
    return await _after_authorization(uow, runtime, checkout, payment, now)


async def _after_authorization(
    uow: UnitOfWork, runtime: Runtime, checkout: Checkout, payment: Payment, now: datetime
) -> Checkout:
    if payment.status == _P.REQUIRES_ACTION:
        _move(checkout, _S.REQUIRES_ACTION, now)
        return checkout
    if payment.status in (_P.DECLINED, _P.FAILED, _P.VOIDED):
        code = payment.decline_code or "card_declined"
        if checkout.status == _S.REQUIRES_ACTION:
            _move(checkout, _S.RESERVED, now)
        _touch(checkout, now, failure_code=code)
        # The decline is a fact: keep it (and the payment's record) although the request
        # answers with an error, which rolls the unit of work back.
        await uow.region(checkout.region).commit()
        raise PaymentDeclined(
            DECLINE_MESSAGES.get(code, "The card was declined."),
            extra={"decline_code": code, "payment_id": payment.id, "checkout_id": checkout.id},
        )
    if payment.status not in HELD:
        raise ActionRequired(f"The payment is {payment.status}; it cannot complete the checkout.")
    return await finalize(uow, runtime, checkout, payment, now)


async def finalize(
    uow: UnitOfWork, runtime: Runtime, checkout: Checkout, payment: Payment, now: datetime
) -> Checkout:
    """Turn a checkout whose payment is authorized (or already captured) into orders: claim
    the stock, capture, write orders and ledger sales (see the module docstring). Safe to
    call again at any point: every step is idempotent. Does not commit the final step."""
    if checkout.status == _S.COMPLETED:
        return checkout
    if checkout.status != _S.PROCESSING:
        _move(checkout, _S.PROCESSING, now)
    try:
        await reservations.claim(runtime, checkout.id, now=now)
    except (ReservationExpired, ReservationNotFound):
        await give_money_back(uow, runtime, payment)
        _move(checkout, _S.EXPIRED, now)
        _touch(checkout, now, failure_code="reservation_expired")
        await uow.region(checkout.region).commit()
        raise ReservationExpired(
            "The items were held for you until "
            f"{as_utc(checkout.expires_at):%H:%M} UTC and that time has passed. Nothing was "
            "charged; start the checkout again.",
            extra={"checkout_id": checkout.id},
        ) from None
    await faults.boundary("finalize.claimed")
    if payment.status == _P.AUTHORIZED:
        payment = await payments.capture_payment(uow, runtime, payment.id)
    await faults.boundary("finalize.captured")
    if payment.status not in (_P.CAPTURED, _P.PARTIALLY_REFUNDED, _P.REFUNDED):
        await reservations.unclaim(runtime, checkout.id, now=now)
        _move(checkout, _S.CANCELLED, now)
        _touch(checkout, now, failure_code=payment.decline_code or "payment_failed")
        await uow.region(checkout.region).commit()
        raise PaymentFailed(
            "The card was authorized but the payment could not be completed; nothing was "
            "charged and the items were released.",
            extra={"checkout_id": checkout.id, "payment_id": payment.id},
        )
    try:
        await _write_orders(uow, runtime, checkout, payment, now)
    except OrderCreationConflict:
        # Another finalizer (a retry, the recovery job) wrote this checkout's orders and
        # committed them with its status an instant ago: answer with its result.
        await uow.region(checkout.region).rollback()
        done = await load_checkout(uow, checkout.id)
        if done.status == _S.COMPLETED:
            return done
        raise
    await faults.boundary("finalize.orders_written")
    _move(checkout, _S.COMPLETED, now)
    checkout.completed_at = now
    return checkout


async def _write_orders(
    uow: UnitOfWork, runtime: Runtime, checkout: Checkout, payment: Payment, now: datetime
) -> None:
    from shopreel.orders import service as orders

    breakdown = breakdown_of(checkout)
    plans = rules.order_plans(breakdown, checkout.lines, checkout.shipping_choices)
    holds = {
        h.variant_id: h.warehouse_id
        for h in await reservations.holds_of(runtime, checkout.id)
        if h.status == "claimed"
    }
    ship_to = await address_of(uow, runtime, checkout)
    drafts = [
        orders.OrderDraft(
            checkout_id=checkout.id,
            buyer_id=checkout.buyer_id,
            shop_id=plan.shop_id,
            payment_id=payment.id,
            currency=checkout.currency,
            subtotal_cents=plan.part.subtotal_cents,
            discount_cents=plan.part.discount_cents,
            shipping_cents=plan.part.shipping_cents,
            tax_cents=plan.part.tax_cents,
            total_cents=plan.part.total_cents,
            tax_jurisdiction=rules.tax_jurisdiction(
                checkout.ship_to_country, checkout.ship_to_state, plan.part.tax_cents
            ),
            shipping_method=plan.shipping_method.value,
            shipping_label=rules.SHIPPING_LABELS[plan.shipping_method],
            ship_to=ship_to,
            lines=tuple(
                orders.OrderLineDraft(
                    variant_id=str(line["variant_id"]),
                    product_id=str(line["product_id"]),
                    sku=line.get("sku"),
                    title=str(line["title"]),
                    options=dict(line.get("options") or {}),
                    quantity=priced.quantity,
                    unit_price_cents=priced.unit_price_cents,
                    discount_cents=priced.line_discount_cents + priced.seller_discount_cents,
                    net_cents=priced.net_cents,
                    tax_cents=priced.tax_cents,
                    warehouse_id=holds.get(str(line["variant_id"])),
                )
                for line, priced in plan.lines
            ),
        )
        for plan in plans
    ]
    written = await orders.create_orders(uow, runtime, drafts, placed_at=now)
    session = uow.region(checkout.region)
    rate = await ledger.referral_rate_bps(uow.control, checkout.region)
    by_shop = {plan.shop_id: plan for plan in plans}
    for order in written:
        plan = by_shop[order.shop_id]
        await ledger.record_sale(
            session,
            reference=f"sale:{order.id}",
            order_id=order.id,
            payment_id=payment.id,
            shop_id=order.shop_id,
            currency=checkout.currency,
            items_cents=plan.part.merchandise_cents,
            shipping_cents=plan.part.shipping_cents,
            tax_cents=plan.part.tax_cents,
            tax_jurisdiction=order.tax_jurisdiction,
            referral_rate_bps=rate,
        )
    if checkout.from_cart:
        from shopreel.cart import service as cart

        quantities: dict[str, int] = {}
        for line in checkout.lines:
            quantities[str(line["variant_id"])] = int(line["quantity"])
        await cart.remove_purchased(uow, checkout.buyer_id, quantities)


async def give_money_back(uow: UnitOfWork, runtime: Runtime, payment: Payment) -> None:
    """Nothing may be charged for a checkout that produced no orders."""
    if payment.status == _P.AUTHORIZED:
        await payments.void_payment(uow, runtime, payment.id)
    elif payment.status == _P.CAPTURED and payment.captured_cents > payment.refunded_cents:
        await payments.refund_payment(
            uow,
            runtime,
            payment.id,
            amount_cents=payment.captured_cents - payment.refunded_cents,
            idempotency_key="checkout-unfulfilled",
        )


async def _expire(uow: UnitOfWork, runtime: Runtime, checkout: Checkout, now: datetime) -> None:
    """The hold ran out before a payment: record it and refuse, keeping the record."""
    await reservations.release(runtime, checkout.id, now=now)
    _move(checkout, _S.EXPIRED, now)
    _touch(checkout, now, failure_code="reservation_expired")
    await uow.region(checkout.region).commit()
    raise ReservationExpired(
        "The items were held for you for a limited time and that time has passed. Nothing "
        "was charged; start the checkout again.",
        extra={"checkout_id": checkout.id},
    )


async def cancel(
    uow: UnitOfWork, runtime: Runtime, principal: Principal, checkout_id: str
) -> Checkout:
    """The buyer gives up: the stock goes back. A checkout being paid cannot be cancelled."""
    now = utcnow()
    checkout = await get_checkout(uow, checkout_id, buyer_id=principal.id)
    if checkout.status in (_S.CANCELLED, _S.EXPIRED):
        return checkout
    if checkout.status not in (_S.RESERVED, _S.REQUIRES_ACTION):
        raise CheckoutClosed(f"A {checkout.status} checkout cannot be cancelled.")
    payment = await current_payment(uow, checkout)
    if payment is not None and payment.status in HELD:
        raise CheckoutClosed("This checkout is being paid; it cannot be cancelled now.")
    await reservations.release(runtime, checkout.id, now=now)
    _move(checkout, _S.CANCELLED, now)
    return checkout


# ---- helpers ------------------------------------------------------------------------------


def _move(checkout: Checkout, target: CheckoutStatus, now: datetime) -> None:
    if checkout.status == target:
        return
    if not rules.can_move(checkout.status, target):
        raise InvalidCheckout(f"A {checkout.status} checkout cannot become {target}.")
    checkout.status = target.value
    _touch(checkout, now)


def _touch(checkout: Checkout, now: datetime, **values: Any) -> None:
    for name, value in values.items():
        setattr(checkout, name, value)
    checkout.updated_at = now
    checkout.version += 1
