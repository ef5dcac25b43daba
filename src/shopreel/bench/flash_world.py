"""The flash sale's world and its audit: real accounts with API tokens, one approved shop
with one live, stocked product, and what the databases say after a sale (orders, oversold
units, lost payments, charges per buyer, the stock invariant).

Used by ``shopreel bench flash-sale`` (:mod:`shopreel.bench.flash_sale`) and by the flash-sale
test, which runs the same buyers against the app in process.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import httpx
from sqlalchemy import func, select

from shopreel.accounts import passwords
from shopreel.accounts import service as accounts
from shopreel.accounts.models import User, UserKey, UserStatus
from shopreel.catalog import service as catalog
from shopreel.catalog.models import Product, ProductStatus, Shop, ShopStatus
from shopreel.catalog.rules import VariantSpec
from shopreel.checkout import recovery
from shopreel.inventory import service as inventory
from shopreel.inventory.models import InventoryLevel, ReservationStatus, StockReservation
from shopreel.inventory.rules import StockChange
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.orders.models import Order, OrderLine
from shopreel.payments.models import Payment, SandboxAuthorization
from shopreel.payments.provider import AuthorizationStatus
from shopreel.payments.sandbox import deliver_pending_webhooks
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty.crypto import normalize_email
from shopreel.uow import UnitOfWork

BUYER_SCOPES: Final = ("payments:write", "orders:read")
SALE_PRICE_CENTS: Final = 2500
# Money is held or taken (provider view): a checkout in one of these states must have an order.
MONEY_HELD: Final = (AuthorizationStatus.AUTHORIZED.value, AuthorizationStatus.CAPTURED.value)
OUR_MONEY_HELD: Final = ("authorized", "captured", "partially_refunded")


# ---- accounts, shop, product, stock ----------------------------------------------------------


@dataclass(frozen=True)
class Buyer:
    user_id: str
    token: str


@dataclass(frozen=True)
class SaleListing:
    seller_id: str
    shop_id: str
    product_id: str
    variant_id: str
    warehouse_id: str
    stock: int
    warmup_variant_id: str | None = None


async def _create_accounts(
    runtime: Runtime, count: int, *, roles: tuple[str, ...], label: str, country: str = "US"
) -> list[tuple[User, UserKey]]:
    """Real accounts, written the way ``accounts.service.sign_up`` writes them (encrypted
    email and name under a fresh data key per user), sharing ONE argon2id hash of a random
    throwaway password, as the demo seeder does. Benchmark buyers authenticate with API
    tokens and never log in, and argon2id at the production cost is ~50 ms of CPU per
    account: 1,000 separate hashes would dominate set-up without measuring anything. The
    production hashing parameters are untouched."""
    region = runtime.settings.region_for_country(country)
    cipher = runtime.cipher(region)
    password_hash = passwords.hash_password(secrets.token_urlsafe(24))
    run = secrets.token_hex(3)
    made: list[tuple[User, UserKey]] = []
    for start in range(0, count, 250):
        async with UnitOfWork(runtime.databases, home_region=region) as uow:
            session = uow.region(region)
            batch: list[tuple[User, UserKey]] = []
            for number in range(start, min(count, start + 250)):
                user_id = new_id("usr", region)
                email = normalize_email(f"{label}-{run}-{number}@example.com")
                name = f"{label.title()} {number}"
                data_key, wrapped = cipher.new_wrapped_key()
                user = User(
                    id=user_id,
                    region=region,
                    email_index=cipher.index(email, accounts.EMAIL_PURPOSE),
                    email_ct=cipher.encrypt(data_key, email, f"users.email:{user_id}"),
                    display_name_ct=cipher.encrypt(data_key, name, f"users.display_name:{user_id}"),
                    country=country,
                    roles=list(roles),
                    jurisdiction=None,
                    staff_roles=[],
                    password_hash=password_hash,
                    status=UserStatus.ACTIVE.value,
                )
                key = UserKey(user_id=user_id, region=region, wrapped_key=wrapped)
                session.add(user)
                session.add(key)
                batch.append((user, key))
            await session.flush()
            made.extend(batch)
    return made


async def create_buyers(
    runtime: Runtime,
    count: int,
    *,
    label: str = "buyer",
    scopes: Sequence[str] = BUYER_SCOPES,
) -> list[Buyer]:
    """``count`` US shoppers, each with a personal access token (``accounts.service.
    create_access_token``) carrying ``scopes``."""
    pairs = await _create_accounts(runtime, count, roles=("shopper",), label=label)
    buyers: list[Buyer] = []
    for start in range(0, len(pairs), 250):
        chunk = pairs[start : start + 250]
        async with UnitOfWork(runtime.databases, home_region=chunk[0][0].region) as uow:
            for user, key in chunk:
                principal = await accounts.load_principal(
                    uow, runtime, user, auth="session", key=key
                )
                _, secret = await accounts.create_access_token(
                    uow, principal, "flash sale", list(scopes)
                )
                buyers.append(Buyer(user.id, secret))
    return buyers


async def create_sale_listing(
    runtime: Runtime, stock: int, *, warmup_stock: int = 0, price_cents: int = SALE_PRICE_CENTS
) -> SaleListing:
    """A seller with an approved shop, one live product (one variant) with ``stock`` units in
    one warehouse, through the catalog and inventory services. The shop is written approved
    and the product set live directly: onboarding review and listing screening (which wants
    an image) are staff workflows, not what a flash sale measures. ``warmup_stock`` > 0 adds
    a second product for warming the server up without touching the sale's stock."""
    [(user, key)] = await _create_accounts(
        runtime, 1, roles=("shopper", "seller"), label="flash-seller"
    )
    shop = Shop(
        id=new_id("shop"),
        handle=f"flash-sale-{secrets.token_hex(3)}",
        name="Flash sale shop",
        description="",
        owner_id=user.id,
        country="US",
        status=ShopStatus.APPROVED.value,
        home_region=user.region,
    )
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(shop)
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        principal = await accounts.load_principal(uow, runtime, user, auth="session", key=key)
        view = await inventory.create_warehouse(
            uow,
            runtime,
            principal,
            name="Flash warehouse",
            line1="500 Industrial Way",
            city="Reno",
            state="NV",
            postal_code="89502",
            country="US",
            handling_days=1,
        )
        warehouse_id = view.warehouse.id
        variants: list[tuple[str, str]] = []
        wanted = [("Flash sale sneaker", "FLASH-1", stock)]
        if warmup_stock > 0:
            wanted.append(("Warm-up socks", "WARMUP-1", warmup_stock))
        for title, sku, _units in wanted:
            product = await catalog.create_product(
                uow,
                principal,
                catalog.ProductDraft(
                    title=title, variants=[VariantSpec(sku=sku, price_cents=price_cents)]
                ),
            )
            await _go_live(uow, product)
            variant = (await catalog.seller_view(uow, principal, product.id)).variants[0]
            variants.append((product.id, variant.id))
        await inventory.adjust_stock(
            uow,
            principal,
            [
                StockChange(variant_id, warehouse_id, units, "received", "flash sale stock")
                for (_, variant_id), (_, _, units) in zip(variants, wanted, strict=True)
            ],
        )
    return SaleListing(
        seller_id=user.id,
        shop_id=shop.id,
        product_id=variants[0][0],
        variant_id=variants[0][1],
        warehouse_id=warehouse_id,
        stock=stock,
        warmup_variant_id=variants[1][1] if warmup_stock > 0 else None,
    )


async def _go_live(uow: UnitOfWork, product: Product) -> None:
    now = utcnow()
    product.status = ProductStatus.LIVE.value
    product.submitted_at = now
    product.live_at = now
    await uow.global_.flush()


# ---- reading the outcome from the databases --------------------------------------------------


@dataclass
class SaleAudit:
    orders: int  # orders with a line of the sale's variant
    units_ordered: int
    level: tuple[int, int, int]  # on_hand, reserved, sold of the sale's level
    oversold: int
    lost: int  # checkouts with money held or taken and no order
    charged_buyers: int  # sale buyers with money held or taken
    double_charged: int  # sale buyers with more than one charge
    payments: dict[str, int]  # our payments by status
    invariant_problems: list[str]
    recovery: str  # which recovery ran

    @property
    def invariant_holds(self) -> bool:
        return not self.invariant_problems


async def run_recovery(runtime: Runtime) -> str:
    """What a deployment's worker does after the sale (``shopreel checkout recover
    --webhooks``): deliver the payment provider's pending webhooks (at least once), then run
    checkout's recovery job (reserved but never paid, authorized without an order, captured
    but not recorded). The job only touches checkouts idle for its grace period, so it runs
    with the clock moved past that grace: the sale is over and nothing is in flight."""
    from shopreel.app import create_app

    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    delivered = 0
    for _ in range(1000):  # until nothing is due (a failed delivery waits for its backoff)
        delivery = await deliver_pending_webhooks(runtime, utcnow(), transport)
        delivered += delivery.delivered
        if delivery.delivered == 0 and delivery.failed == 0:
            break
    now = utcnow() + recovery.DEFAULT_GRACE + timedelta(seconds=1)
    report = await recovery.recover(runtime, now)
    done = ", ".join(f"{name} {value}" for name, value in report.as_dict().items())
    return f"{delivered} webhooks delivered; recovery: {done}"


async def check_stock_invariant(runtime: Runtime) -> list[str]:
    """Every level: no term negative, ``on_hand = available + reserved + sold``, ``reserved``
    equal to its active reservations and ``sold`` to its claimed ones."""
    problems: list[str] = []
    async with runtime.databases.session(GLOBAL) as session:
        levels = list(await session.scalars(select(InventoryLevel)))
        held = {
            (row.variant_id, row.warehouse_id, row.status): int(row.units)
            for row in (
                await session.execute(
                    select(
                        StockReservation.variant_id,
                        StockReservation.warehouse_id,
                        StockReservation.status,
                        func.sum(StockReservation.quantity).label("units"),
                    ).group_by(
                        StockReservation.variant_id,
                        StockReservation.warehouse_id,
                        StockReservation.status,
                    )
                )
            ).all()
        }
    for lv in levels:
        where = f"{lv.variant_id}@{lv.warehouse_id}"
        available = lv.on_hand - lv.reserved - lv.sold
        if min(lv.on_hand, lv.reserved, lv.sold, available) < 0:
            problems.append(
                f"{where}: negative term (on_hand {lv.on_hand}, reserved {lv.reserved}, "
                f"sold {lv.sold}, available {available})"
            )
        active = held.get((lv.variant_id, lv.warehouse_id, ReservationStatus.ACTIVE.value), 0)
        claimed = held.get((lv.variant_id, lv.warehouse_id, ReservationStatus.CLAIMED.value), 0)
        if lv.reserved != active:
            problems.append(f"{where}: reserved {lv.reserved} != active reservations {active}")
        if lv.sold != claimed:
            problems.append(f"{where}: sold {lv.sold} != claimed reservations {claimed}")
    return problems


async def audit_sale(
    runtime: Runtime, listing: SaleListing, buyers: Sequence[Buyer], *, region: str = "us"
) -> SaleAudit:
    """Read what the sale left behind (run after the buyers are done and recovery ran).
    ``lost`` and the invariant cover everything in the databases; orders count those with
    the sale's variant, charges those of ``buyers``."""
    async with runtime.databases.session(regional(region)) as session:
        sale_orders = (
            await session.execute(
                select(
                    func.count(func.distinct(OrderLine.order_id)),
                    func.coalesce(func.sum(OrderLine.quantity), 0),
                ).where(OrderLine.variant_id == listing.variant_id)
            )
        ).one()
        ordered_checkouts = set(await session.scalars(select(Order.checkout_id)))
        payments = list(
            (
                await session.execute(
                    select(Payment.id, Payment.buyer_id, Payment.reference, Payment.status)
                )
            ).all()
        )
        authorizations = list(
            (
                await session.execute(
                    select(SandboxAuthorization.status, SandboxAuthorization.details).where(
                        SandboxAuthorization.status.in_(MONEY_HELD)
                    )
                )
            ).all()
        )
    buyer_of_payment = {p.id: p.buyer_id for p in payments}
    sale_buyers = {buyer.user_id for buyer in buyers}
    # money held or taken, by checkout: what we recorded, and what the provider did
    charged: dict[str, str] = {
        p.reference: p.buyer_id for p in payments if p.status in OUR_MONEY_HELD
    }
    charges_per_buyer: Counter[str] = Counter()
    for _status, details in authorizations:
        metadata = details or {}
        reference = str(metadata.get("reference", ""))
        buyer = buyer_of_payment.get(str(metadata.get("payment_id", "")), "?")
        charged.setdefault(reference, buyer)
        if buyer in sale_buyers:
            charges_per_buyer[buyer] += 1
    lost = sum(1 for reference in charged if reference not in ordered_checkouts)
    async with runtime.databases.session(GLOBAL) as session:
        row = (
            await session.execute(
                select(InventoryLevel.on_hand, InventoryLevel.reserved, InventoryLevel.sold).where(
                    InventoryLevel.variant_id == listing.variant_id,
                    InventoryLevel.warehouse_id == listing.warehouse_id,
                )
            )
        ).one()
    level = (int(row[0]), int(row[1]), int(row[2]))
    units_ordered = int(sale_orders[1])
    problems = await check_stock_invariant(runtime)
    if level[0] != listing.stock:
        problems.append(f"sale level on_hand {level[0]} != stock received {listing.stock}")
    return SaleAudit(
        orders=int(sale_orders[0]),
        units_ordered=units_ordered,
        level=level,
        oversold=max(0, max(level[2], units_ordered) - listing.stock),
        lost=lost,
        charged_buyers=len(charges_per_buyer),
        double_charged=sum(1 for n in charges_per_buyer.values() if n > 1),
        payments=dict(Counter(p.status for p in payments)),
        invariant_problems=problems,
        recovery="",
    )
