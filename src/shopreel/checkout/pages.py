"""Checkout pages: the address and shipping form (``/checkout``), the review and payment
page (``/checkout/{id}``), the return from the card's second step, the confirmation and the
cancel button. Every rule is in :mod:`shopreel.checkout.service`; the pages show its
refusals next to the buyer's input.

The card never reaches our server: its inputs have no ``name``, and ``static/js/checkout.js``
sends them to the sandbox's public tokenization endpoint, then posts only the token here.

Refusals: the service commits some facts itself before it raises (a declined card, an
expired hold). A refused form therefore rolls the unit of work back and renders from a
fresh read, so nothing else of the failed request is committed with the error page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.accounts.principal import Principal
from shopreel.cart import service as cart
from shopreel.catalog.money import format_minor_units
from shopreel.checkout import repository, rules, service
from shopreel.checkout.endpoints import checkout_read
from shopreel.checkout.errors import CheckoutErrorCode, CheckoutNotFound
from shopreel.checkout.models import CheckoutStatus
from shopreel.deps import CurrentPrincipal, RuntimeDep, UowDep
from shopreel.errors import ShopReelError
from shopreel.kit.countries import country_choices
from shopreel.kit.time import as_utc, utcnow
from shopreel.payments.cards import TEST_CARDS as SANDBOX_CARDS
from shopreel.pricing import ShippingSettings, settings_from_shop, shipping_fee
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from shopreel.web.pages import PageGuard
from shopreel.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

CheckoutId = Annotated[str, Path(min_length=1, max_length=64)]

ADDRESS_LABELS: Final = (
    ("name", "Full name"),
    ("line1", "Address line 1"),
    ("line2", "Address line 2"),
    ("city", "City"),
    ("state", "State"),
    ("postal_code", "ZIP / postal code"),
    ("country", "Country"),
    ("phone", "Phone"),
)
ADDRESS_FIELDS: Final = tuple(name for name, _ in ADDRESS_LABELS)
SHIPPING_PREFIX: Final = "shipping:"
"""Form fields ``shipping:<shop id>`` carry each seller's method (standard | express)."""
TOKEN_MAX_LENGTH: Final = 400


def _spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


TEST_CARDS: Final = tuple(
    (_spaced(card.number), card.brand.capitalize(), card.description) for card in SANDBOX_CARDS
)
"""The sandbox's test cards as the page lists them: any future expiry, any 3-digit CVC."""
EXPIRED_CODES: Final = frozenset({"reservation_expired", "reservation_not_found"})


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return ""
    text = format_minor_units(cents, currency)
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def _helpers() -> dict[str, Any]:
    return {"money": money, "test_cards": TEST_CARDS}


# ---- the address and shipping form --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShippingOption:
    method: str
    label: str
    fee_cents: int
    handling_days: int


@dataclass(frozen=True, slots=True)
class SellerShipping:
    shop_id: str
    field: str
    options: tuple[ShippingOption, ...]


async def _shipping_options(uow: UnitOfWork, view: cart.CartView) -> dict[str, SellerShipping]:
    """Standard and express for each seller of the cart, priced for the cart's items now
    (the review page shows what the checkout actually charges)."""
    offers = await repository.offers(uow.global_, [line.variant_id for line in view.lines])
    found: dict[str, SellerShipping] = {}
    for group in view.sellers:
        shop_offers = [offers[x.variant_id] for x in group.lines if x.variant_id in offers]
        settings: ShippingSettings | None = (
            settings_from_shop(shop_offers[0].shop) if shop_offers else None
        )
        needs_shipping = any(o.variant.requires_shipping for o in shop_offers)
        options = []
        for method in rules.ShippingMethod:
            quote = shipping_fee(
                rules.shipping_settings(method, settings),
                merchandise_cents=group.subtotal_cents,
                shipping_required=needs_shipping,
            )
            options.append(
                ShippingOption(
                    method=method.value,
                    label=rules.SHIPPING_LABELS[method],
                    fee_cents=quote.fee_cents,
                    handling_days=quote.handling_days,
                )
            )
        found[group.shop_id] = SellerShipping(
            group.shop_id, SHIPPING_PREFIX + group.shop_id, tuple(options)
        )
    return found


def _blank_form(principal: Principal) -> dict[str, str]:
    form = {name: "" for name in ADDRESS_FIELDS}
    form["name"] = principal.display_name
    form["country"] = principal.country
    return form


def _read_form(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The address fields and the shipping choices of a posted checkout form."""
    address = {name: _text(raw.get(name)) for name in ADDRESS_FIELDS}
    shipping = {
        key.removeprefix(SHIPPING_PREFIX): _text(value)
        for key, value in raw.items()
        if key.startswith(SHIPPING_PREFIX)
    }
    return address, shipping


def _text(value: Any) -> str:
    return value[:400] if isinstance(value, str) else ""


def _titles(view: cart.CartView) -> dict[str, str]:
    titles = {}
    for line in view.lines:
        options = " / ".join(line.options.values())
        titles[line.variant_id] = f"{line.title} ({options})" if options else line.title
    return titles


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal as a page shows it: ``fields`` per address field, ``items`` per cart line;
    ``restart``: this checkout is over, the buyer starts a new one."""

    title: str
    message: str
    fields: Mapping[str, str] = field(default_factory=dict)
    items: Sequence[str] = ()
    restart: bool = False


def _form_problem(error: ShopReelError, view: cart.CartView) -> Problem:
    """What the form shows for a refusal: a summary, per-field messages and item lists."""
    titles = _titles(view)
    fields: dict[str, str] = {}
    items: list[str] = []
    title = "We could not hold your items"
    message = error.detail
    if error.code == CheckoutErrorCode.INVALID_ADDRESS.value:
        title = "Check the shipping address"
        raw = error.extra.get("fields")
        if isinstance(raw, dict) and raw:
            labels = dict(ADDRESS_LABELS)
            fields = {str(k): f"{labels.get(str(k), str(k))} {v}." for k, v in raw.items()}
            message = "Fix the fields marked below."
    elif error.code == "out_of_stock":
        title = "Not enough stock"
        message = "Some items do not have enough stock left. Lower the quantity in your cart."
        for short in error.extra.get("short") or []:
            name = titles.get(str(short.get("variant_id")), "An item")
            left = int(short.get("available") or 0)
            wanted = int(short.get("requested") or 0)
            items.append(
                f"{name}: you asked for {wanted}, "
                + ("none are left." if left <= 0 else f"only {left} left.")
            )
    elif error.code == CheckoutErrorCode.LINE_UNAVAILABLE.value:
        title = "Some items are not available"
        message = "These items can no longer be bought. Remove them from your cart."
        items = [titles.get(str(v), str(v)) for v in error.extra.get("variant_ids") or []]
    elif error.code == "cart_empty":
        title = "Your cart is empty"
        message = "Add something to your cart to check out."
    return Problem(title, message, fields, items)


async def _form_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    *,
    form: dict[str, str],
    shipping: Mapping[str, str],
    problem: Problem | None = None,
    status: int = 200,
    view: cart.CartView | None = None,
) -> HTMLResponse:
    view = view or await cart.get_cart(uow, principal.id)
    options = await _shipping_options(uow, view) if view.sellers else {}
    return render(
        request,
        "checkout/start.html",
        {
            **_helpers(),
            "cart": view,
            "cart_count": view.item_count,
            "form": form,
            "shipping": {shop_id: shipping.get(shop_id, "standard") for shop_id in options},
            "shipping_options": options,
            "countries": country_choices(),
            "problem": problem,
            "errors": problem.fields if problem else {},
        },
        status,
    )


@router.get("/checkout", response_class=HTMLResponse)
async def checkout_form(
    request: Request, _guard: PageGuard, principal: CurrentPrincipal, uow: UowDep
) -> Response:
    return await _form_page(request, uow, principal, form=_blank_form(principal), shipping={})


@router.post("/checkout", response_class=HTMLResponse)
async def start_checkout(
    request: Request,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    address, shipping = _read_form(await request.form())
    try:
        checkout = await service.start_checkout(
            uow, runtime, principal, address=address, lines=None, shipping=shipping
        )
    except ShopReelError as error:
        await uow.rollback()
        view = await cart.get_cart(uow, principal.id)
        return await _form_page(
            request,
            uow,
            principal,
            form=address,
            shipping=shipping,
            problem=_form_problem(error, view),
            status=error.status,
            view=view,
        )
    return redirect(request, f"/checkout/{checkout.id}")


# ---- review and payment -------------------------------------------------------------------


def _refusal(error: ShopReelError) -> Problem:
    """The review page's message for a refused payment."""
    if error.code == CheckoutErrorCode.PAYMENT_DECLINED.value:
        return Problem(
            "Payment declined",
            f"{error.detail} Your items are still held for you; nothing was charged.",
        )
    if error.code in EXPIRED_CODES:
        return Problem(
            "The hold ran out",
            "The time we held your items for ran out before the payment. Nothing was "
            "charged. Start again to hold them anew.",
            restart=True,
        )
    if error.code == CheckoutErrorCode.PAYMENT_FAILED.value:
        return Problem("Payment failed", error.detail, restart=True)
    if error.code == CheckoutErrorCode.CHECKOUT_CLOSED.value:
        return Problem(
            "This checkout is closed", f"{error.detail} Nothing was charged.", restart=True
        )
    return Problem("The payment did not go through", error.detail)


async def _review_page(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    checkout_id: str,
    *,
    refusal: Problem | None = None,
    status: int = 200,
) -> HTMLResponse:
    checkout = await service.get_checkout(uow, checkout_id, buyer_id=principal.id)
    view = await checkout_read(uow, runtime, checkout)
    waiting = view.status in (CheckoutStatus.RESERVED.value, CheckoutStatus.REQUIRES_ACTION.value)
    # The recovery job marks lapsed holds expired later; the page says so right away.
    lapsed = waiting and as_utc(view.expires_at) <= utcnow()
    return render(
        request,
        "checkout/review.html",
        {
            **_helpers(),
            "checkout": view,
            "held_until": f"{as_utc(view.expires_at):%H:%M} UTC",
            "lapsed": lapsed,
            "payable": waiting and not lapsed and not (refusal and refusal.restart),
            "refusal": refusal,
        },
        status,
    )


async def _refused(
    request: Request,
    uow: UnitOfWork,
    runtime: Runtime,
    principal: Principal,
    checkout_id: str,
    error: ShopReelError,
) -> Response:
    # The service already committed the facts it keeps (a decline, an expiry): drop the rest.
    await uow.rollback()
    return await _review_page(
        request,
        uow,
        runtime,
        principal,
        checkout_id,
        refusal=_refusal(error),
        status=error.status,
    )


async def _next_step(
    request: Request, uow: UnitOfWork, checkout_id: str, status: str, payment_id: str | None
) -> Response:
    """Where a checkout goes after a payment attempt that was not refused."""
    if status == CheckoutStatus.COMPLETED.value:
        return redirect(request, f"/checkout/{checkout_id}/done")
    if status == CheckoutStatus.REQUIRES_ACTION.value and payment_id is not None:
        from shopreel.payments import service as payments

        payment = await payments.load_payment(uow, payment_id)
        if payment.next_action_url:
            return redirect(request, payment.next_action_url)
    return redirect(request, f"/checkout/{checkout_id}")


@router.get("/checkout/{checkout_id}", response_class=HTMLResponse)
async def review(
    request: Request,
    checkout_id: CheckoutId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    checkout = await service.get_checkout(uow, checkout_id, buyer_id=principal.id)
    if checkout.status == CheckoutStatus.COMPLETED.value:
        return redirect(request, f"/checkout/{checkout.id}/done")
    return await _review_page(request, uow, runtime, principal, checkout.id)


@router.post("/checkout/{checkout_id}/pay", response_class=HTMLResponse)
async def pay(
    request: Request,
    checkout_id: CheckoutId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    form = await request.form()
    token = _text(form.get("token")).strip()
    if not token or len(token) > TOKEN_MAX_LENGTH:
        await service.get_checkout(uow, checkout_id, buyer_id=principal.id)  # 404 first
        return await _review_page(
            request,
            uow,
            runtime,
            principal,
            checkout_id,
            refusal=Problem(
                "Enter your card",
                "The card was not sent. Paying by card needs JavaScript: turn it on and "
                "enter the card again.",
            ),
            status=422,
        )
    try:
        checkout = await service.pay(
            uow,
            runtime,
            principal,
            checkout_id,
            token=token,
            return_url=f"/checkout/{checkout_id}/return",
        )
    except CheckoutNotFound:
        raise
    except ShopReelError as error:
        return await _refused(request, uow, runtime, principal, checkout_id, error)
    return await _next_step(request, uow, checkout.id, checkout.status, checkout.payment_id)


@router.get("/checkout/{checkout_id}/return", response_class=HTMLResponse)
async def return_from_verification(
    request: Request,
    checkout_id: CheckoutId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    """Back from the card's second step (the sandbox bank's page redirects here)."""
    try:
        checkout = await service.confirm(uow, runtime, principal, checkout_id)
    except CheckoutNotFound:
        raise
    except ShopReelError as error:
        return await _refused(request, uow, runtime, principal, checkout_id, error)
    return await _next_step(request, uow, checkout.id, checkout.status, checkout.payment_id)


@router.get("/checkout/{checkout_id}/done", response_class=HTMLResponse)
async def done(
    request: Request,
    checkout_id: CheckoutId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    checkout = await service.get_checkout(uow, checkout_id, buyer_id=principal.id)
    if checkout.status != CheckoutStatus.COMPLETED.value:
        return redirect(request, f"/checkout/{checkout.id}")
    view = await checkout_read(uow, runtime, checkout)
    return render(
        request,
        "checkout/done.html",
        {**_helpers(), "checkout": view, "sellers": {p.shop_id: p for p in view.sellers}},
    )


@router.post("/checkout/{checkout_id}/cancel", response_class=HTMLResponse)
async def cancel(
    request: Request,
    checkout_id: CheckoutId,
    _guard: PageGuard,
    principal: CurrentPrincipal,
    uow: UowDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        await service.cancel(uow, runtime, principal, checkout_id)
    except CheckoutNotFound:
        raise
    except ShopReelError as error:
        return await _refused(request, uow, runtime, principal, checkout_id, error)
    return redirect(request, "/cart")
