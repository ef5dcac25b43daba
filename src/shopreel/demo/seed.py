"""Write a ``DemoWorld`` into the databases: global catalog and content, regional accounts
and interaction history (each user in their home region), poster images in the media dir.

Demo accounts share one argon2id hash of the published demo password (hashing thousands of
accounts one by one would take minutes and protects nothing: the password is public).
Index 0 of sellers, creators and shoppers is the fixed demo login of that role, so the
demo seller owns ``demo-shop`` and the demo shopper has a history."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts import passwords
from shopreel.accounts.models import User, UserKey, UserStatus
from shopreel.accounts.service import EMAIL_PURPOSE
from shopreel.catalog.models import PriceChange, Product, Shop, ShopStatus, Variant
from shopreel.catalog.options import options_key
from shopreel.checkout.demo import seed_demo_commerce
from shopreel.config import Settings
from shopreel.content.models import CreatorProfile, Video, VideoProduct
from shopreel.demo.posters import render_poster
from shopreel.demo.world import DEMO_PASSWORD, DemoLogin, DemoWorld, WorldSize
from shopreel.errors import ShopReelError
from shopreel.events.models import InteractionEvent
from shopreel.inventory.demo import seed_demo_inventory
from shopreel.kit.ids import new_id
from shopreel.kit.time import utcnow
from shopreel.ledger.maintenance import wipe_ledger_for_tests
from shopreel.ledger.models import LEDGER_TABLES
from shopreel.models import metadata_for
from shopreel.planes import GLOBAL, PlaneKind, regional
from shopreel.runtime import Runtime
from shopreel.sellers.demo import seed_demo_application
from shopreel.sovereignty.audit import AUDIT_TABLES, wipe_log_for_tests
from shopreel.sovereignty.crypto import normalize_email

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
BATCH = 2000


def _batches(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def demo_user_id(region: str, kind: str, index: int) -> str:
    """Deterministic ids that still have the regional id shape (26-char tail)."""
    return f"usr_{region}_d{kind}{index:024d}"


@dataclass
class _Account:
    user_id: str
    email: str
    display_name: str
    country: str
    region: str
    roles: list[str]
    jurisdiction: str | None = None
    staff_roles: tuple[str, ...] = ()


class _AccountWriter:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.password_hash = passwords.hash_password(DEMO_PASSWORD)

    def rows(self, account: _Account) -> tuple[dict[str, Any], dict[str, Any]]:
        cipher = self.runtime.cipher(account.region)
        data_key, wrapped = cipher.new_wrapped_key()
        email = normalize_email(account.email)
        user = {
            "id": account.user_id,
            "region": account.region,
            "email_index": cipher.index(email, EMAIL_PURPOSE),
            "email_ct": cipher.encrypt(data_key, email, f"users.email:{account.user_id}"),
            "display_name_ct": cipher.encrypt(
                data_key, account.display_name, f"users.display_name:{account.user_id}"
            ),
            "country": account.country,
            "roles": account.roles,
            "jurisdiction": account.jurisdiction,
            "staff_roles": list(account.staff_roles),
            "password_hash": self.password_hash,
            "status": UserStatus.ACTIVE.value,
            "created_at": utcnow(),
            "password_changed_at": utcnow(),
        }
        key = {
            "user_id": account.user_id,
            "region": account.region,
            "wrapped_key": wrapped,
            "created_at": utcnow(),
        }
        return user, key

    async def write(self, accounts: list[_Account]) -> None:
        by_region: dict[str, list[_Account]] = {}
        for account in accounts:
            by_region.setdefault(account.region, []).append(account)
        for region, group in by_region.items():
            pairs = [self.rows(a) for a in group]
            async with self.runtime.databases.transaction(regional(region)) as session:
                await session.execute(insert(User), [p[0] for p in pairs])
                await session.execute(insert(UserKey), [p[1] for p in pairs])


def _login(logins: list[DemoLogin], role: str) -> DemoLogin:
    return next(login for login in logins if login.role == role)


async def is_seeded(settings: Settings) -> bool:
    runtime = Runtime.from_settings(settings)
    try:
        async with runtime.databases.session(GLOBAL) as session:
            found = await session.scalar(select(Shop.id).where(Shop.handle == "demo-shop"))
        return found is not None
    finally:
        await runtime.close()


async def reset_demo(settings: Settings) -> None:
    """Delete every row of every plane: a demo deployment is rebuilt from scratch."""
    if settings.env == "prod":
        raise ShopReelError("refusing to wipe databases with SHOPREEL_ENV=prod")
    runtime = Runtime.from_settings(settings)
    try:
        for plane in runtime.databases.planes():
            async with runtime.databases.engine(plane).begin() as conn:
                if plane.kind is PlaneKind.CONTROL:
                    # The audit log is append-only; a throwaway demo log is wiped whole.
                    await wipe_log_for_tests(conn)
                if plane.kind is PlaneKind.REGIONAL:
                    # So is the money ledger (postings refuse DELETE).
                    await wipe_ledger_for_tests(conn)
                for table in reversed(metadata_for(plane.kind).sorted_tables):
                    if table.name not in AUDIT_TABLES and table.name not in LEDGER_TABLES:
                        await conn.execute(delete(table))
    finally:
        await runtime.close()


async def seed_world(
    settings: Settings,
    size: WorldSize,
    *,
    seed: int = 42,
    progress: Progress | None = None,
) -> dict[str, int]:
    report = progress or (lambda kind, done, total: None)
    runtime = Runtime.from_settings(settings)
    try:
        return await _seed(runtime, DemoWorld(size, seed=seed), size, report)
    finally:
        await runtime.close()


async def _seed(
    runtime: Runtime, world: DemoWorld, size: WorldSize, report: Progress
) -> dict[str, int]:
    accounts = _AccountWriter(runtime)
    logins = world.fixed_logins()
    counts: dict[str, int] = {}

    # Staff: a US trust officer and a non-US headquarters analyst.
    staff: list[_Account] = []
    for login in logins:
        if login.role == "staff":
            duties = login.staff_roles
            staff.append(
                _Account(
                    demo_user_id(login.region, "t", len(staff)),
                    login.email,
                    login.display_name,
                    login.country,
                    login.region,
                    ["shopper", "staff"],
                    login.jurisdiction,
                    duties,
                )
            )
    await accounts.write(staff)

    # Sellers: an account in the home region, a public shop in the global plane.
    seller_login = _login(logins, "seller")
    owner_of: dict[str, str] = {}
    done = 0
    for sellers_batch in _batches(world.sellers(), 500):
        shop_rows, owners = [], []
        for seller in sellers_batch:
            index = int(seller.id.rsplit("_", 1)[1])
            email = seller_login.email if index == 0 else seller.owner_email
            name = seller_login.display_name if index == 0 else seller.name
            owner = _Account(
                demo_user_id(seller.region, "s", index),
                email,
                name,
                seller.country,
                seller.region,
                ["shopper", "seller"],
            )
            owners.append(owner)
            owner_of[seller.id] = owner.user_id
            shop_rows.append(
                {
                    "id": seller.id,
                    "handle": seller.handle,
                    "name": seller.name,
                    "description": seller.description,
                    "owner_id": owner.user_id,
                    "country": seller.country,
                    "status": ShopStatus.APPROVED.value,
                    "created_at": seller.created_at,
                    "updated_at": seller.created_at,
                    "home_region": seller.region,
                }
            )
        await accounts.write(owners)
        async with runtime.databases.transaction(GLOBAL) as session:
            await session.execute(insert(Shop), shop_rows)
        done += len(sellers_batch)
        report("sellers", done, size.sellers)
    counts["sellers"] = done

    done = variants = 0
    for products_batch in _batches(world.products(), 1000):
        product_rows, variant_rows, price_rows = [], [], []
        for product in products_batch:
            axes = list(product.variants[0].options) if product.variants else []
            product_rows.append(
                {
                    "id": product.id,
                    "shop_id": product.seller_id,
                    "handle": f"{product.id.replace('_', '-')}",
                    "title": product.title,
                    "description_html": f"<p>{product.description}</p>",
                    "category_id": product.category_id,
                    "tags": list(product.tags),
                    "status": product.status,
                    "created_at": product.created_at,
                    "updated_at": product.created_at,
                    "option_names": axes,
                    "live_at": product.created_at if product.status == "live" else None,
                }
            )
            for position, variant in enumerate(product.variants):
                price_rows.append(
                    {
                        "id": new_id("prc"),
                        "variant_id": variant.id,
                        "shop_id": product.seller_id,
                        "sku": variant.sku,
                        "price_cents": variant.price_cents,
                        "compare_at_cents": variant.compare_at_cents,
                        "currency": variant.currency,
                        "changed_at": product.created_at,
                        "reason": "create",
                    }
                )
                variant_rows.append(
                    {
                        "id": variant.id,
                        "product_id": product.id,
                        "shop_id": product.seller_id,
                        "sku": variant.sku,
                        "options": variant.options,
                        "options_key": options_key([variant.options[a] for a in axes]),
                        "price_cents": variant.price_cents,
                        "compare_at_cents": variant.compare_at_cents,
                        "currency": variant.currency,
                        "weight_grams": variant.weight_grams,
                        "barcode": variant.barcode,
                        "position": position,
                    }
                )
        async with runtime.databases.transaction(GLOBAL) as session:
            await session.execute(insert(Product), product_rows)
            await session.execute(insert(Variant), variant_rows)
            await session.execute(insert(PriceChange), price_rows)
        done += len(products_batch)
        variants += len(variant_rows)
        report("products", done, size.products)
    counts["products"] = done
    counts["variants"] = variants

    # The demo seller's onboarding is complete: an approved application (personal data
    # encrypted in its home region) and a warehouse stocking every variant of demo-shop.
    demo_shop = next(iter(world.sellers()))
    demo_owner = owner_of[demo_shop.id]
    await seed_demo_application(
        runtime,
        user_id=demo_owner,
        shop_id=demo_shop.id,
        region=demo_shop.region,
        country=demo_shop.country,
    )
    await seed_demo_inventory(
        runtime, shop_id=demo_shop.id, owner_id=demo_owner, region=demo_shop.region
    )

    creator_login = _login(logins, "creator")
    done = 0
    for creators_batch in _batches(world.creators(), 500):
        creator_accounts, profiles = [], []
        for creator in creators_batch:
            index = int(creator.id.rsplit("_", 1)[1])
            email = creator_login.email if index == 0 else creator.user_email
            name = creator_login.display_name if index == 0 else creator.display_name
            account = _Account(
                demo_user_id(creator.region, "c", index),
                email,
                name,
                creator.country,
                creator.region,
                ["shopper", "creator"],
            )
            creator_accounts.append(account)
            profiles.append(
                {
                    "id": creator.id,
                    "handle": creator.handle,
                    "display_name": name,
                    "bio": creator.bio,
                    "user_id": account.user_id,
                    "home_region": creator.region,
                    "follower_count": 0,
                    "created_at": utcnow(),
                }
            )
        await accounts.write(creator_accounts)
        async with runtime.databases.transaction(GLOBAL) as session:
            await session.execute(insert(CreatorProfile), profiles)
        done += len(creators_batch)
        report("creators", done, size.creators)
    counts["creators"] = done

    poster_dir = runtime.settings.media_dir / "posters"
    poster_dir.mkdir(parents=True, exist_ok=True)
    done = 0
    for videos_batch in _batches(world.videos(), 500):
        video_rows: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for video in videos_batch:
            _write_poster(poster_dir / f"{video.id}.jpg", render_poster(video))
            video_rows.append(
                {
                    "id": video.id,
                    "creator_id": video.creator_id,
                    "caption": video.caption,
                    "hashtags": list(video.hashtags),
                    "duration_s": video.duration_s,
                    "poster_path": f"posters/{video.id}.jpg",
                    "status": "published",
                    "view_count": 0,
                    "like_count": 0,
                    "created_at": video.created_at,
                }
            )
            tags.extend(
                {"video_id": video.id, "product_id": product_id, "position": position}
                for position, product_id in enumerate(video.tagged_product_ids)
            )
        async with runtime.databases.transaction(GLOBAL) as session:
            await session.execute(insert(Video), video_rows)
            if tags:
                await session.execute(insert(VideoProduct), tags)
        done += len(videos_batch)
        report("videos", done, size.videos)
    counts["videos"] = done

    shopper_login = _login(logins, "shopper")
    user_of: dict[str, tuple[str, str]] = {}
    done = 0
    for shoppers_batch in _batches(world.shoppers(), 1000):
        shopper_accounts = []
        for shopper in shoppers_batch:
            index = int(shopper.id.rsplit("_", 1)[1])
            email = shopper_login.email if index == 0 else shopper.email
            name = shopper_login.display_name if index == 0 else shopper.display_name
            country = shopper_login.country if index == 0 else shopper.country
            region = runtime.settings.region_for_country(country)
            account = _Account(
                demo_user_id(region, "b", index), email, name, country, region, ["shopper"]
            )
            shopper_accounts.append(account)
            user_of[shopper.id] = (account.user_id, region)
        await accounts.write(shopper_accounts)
        done += len(shoppers_batch)
        report("shoppers", done, size.shoppers)
    counts["shoppers"] = done

    done = 0
    for events_batch in _batches(world.interactions(), 5000):
        by_region: dict[str, list[dict[str, Any]]] = {}
        for offset, event in enumerate(events_batch):
            user_id, region = user_of[event.shopper_id]
            by_region.setdefault(region, []).append(
                {
                    "id": f"evt_{region}_d{done + offset:025d}",
                    "user_id": user_id,
                    "region": region,
                    "client_event_id": None,
                    "kind": event.kind,
                    "video_id": event.video_id,
                    "product_id": event.product_id,
                    "watch_ms": event.watch_ms,
                    "occurred_at": event.occurred_at,
                    "received_at": event.occurred_at,
                }
            )
        for region, rows in by_region.items():
            async with runtime.databases.transaction(regional(region)) as session:
                await _insert(session, rows)
        done += len(events_batch)
        report("interactions", done, size.interactions)
    counts["interactions"] = done
    counts["staff"] = len(staff)

    # One real purchase by the demo shopper and one flash deal of demo-shop, through the
    # checkout and promotions services (sandbox card).
    shopper_region = runtime.settings.region_for_country(shopper_login.country)
    commerce = await seed_demo_commerce(
        runtime,
        shopper_id=demo_user_id(shopper_region, "b", 0),
        seller_id=demo_owner,
        shop_id=demo_shop.id,
    )
    counts.update({f"demo_{k}": v for k, v in commerce.items()})
    return counts


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(InteractionEvent), rows)


def _write_poster(path: Path, data: bytes) -> None:
    path.write_bytes(data)
