from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import UTC, timedelta
from itertools import islice

import pytest

from shopreel.catalog.taxonomy import Taxonomy, default_taxonomy
from shopreel.demo.world import (
    DEMO_PASSWORD,
    EPOCH,
    INTERACTION_KINDS,
    DemoCreator,
    DemoInteraction,
    DemoProduct,
    DemoSeller,
    DemoShopper,
    DemoVideo,
    DemoWorld,
    WorldSize,
    ean13_check_digit,
    is_valid_ean13,
)

SIZE = WorldSize(
    sellers=40, products=800, creators=30, videos=500, shoppers=300, interactions=40_000
)
Person = DemoSeller | DemoCreator | DemoShopper
FUNNEL = ("impression", "view", "like", "product_click", "add_to_cart", "purchase")


@dataclasses.dataclass
class Snapshot:
    world: DemoWorld
    sellers: list[DemoSeller]
    products: list[DemoProduct]
    creators: list[DemoCreator]
    videos: list[DemoVideo]
    shoppers: list[DemoShopper]
    interactions: list[DemoInteraction]


def snapshot(world: DemoWorld) -> Snapshot:
    return Snapshot(
        world,
        list(world.sellers()),
        list(world.products()),
        list(world.creators()),
        list(world.videos()),
        list(world.shoppers()),
        list(world.interactions()),
    )


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return snapshot(DemoWorld(SIZE, seed=42))


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_same_world(snap: Snapshot) -> None:
    small = dataclasses.replace(SIZE, interactions=3_000)
    again = snapshot(DemoWorld(small, seed=42))
    assert again.sellers == snap.sellers
    assert again.products == snap.products
    assert again.creators == snap.creators
    assert again.videos == snap.videos
    assert again.shoppers == snap.shoppers
    assert again.interactions == snap.interactions[:3_000]
    # A world can be iterated repeatedly with identical results.
    assert list(snap.world.products()) == snap.products
    assert list(islice(snap.world.interactions(), 500)) == snap.interactions[:500]


def test_different_seed_differs(snap: Snapshot) -> None:
    small = dataclasses.replace(SIZE, interactions=2_000)
    other = snapshot(DemoWorld(small, seed=7))
    assert [s.name for s in other.sellers] != [s.name for s in snap.sellers]
    assert [p.title for p in other.products] != [p.title for p in snap.products]
    assert [v.caption for v in other.videos] != [v.caption for v in snap.videos]
    assert [s.display_name for s in other.shoppers] != [s.display_name for s in snap.shoppers]
    assert other.interactions != snap.interactions[:2_000]
    # ... but the demo entry points are fixed.
    assert other.sellers[0].handle == "demo-shop"
    assert other.world.fixed_logins() == snap.world.fixed_logins()


@pytest.mark.parametrize("kind", ["sellers", "products", "creators", "videos", "shoppers"])
def test_prefix_stable_when_one_size_grows(snap: Snapshot, kind: str) -> None:
    bigger = dataclasses.replace(SIZE, **{kind: getattr(SIZE, kind) + 57})
    world = DemoWorld(bigger, seed=42)
    generated = list(getattr(world, kind)())
    assert len(generated) == getattr(SIZE, kind) + 57
    assert generated[: getattr(SIZE, kind)] == getattr(snap, kind)


def test_prefix_stable_when_all_sizes_grow(snap: Snapshot) -> None:
    bigger = WorldSize(
        sellers=90, products=1500, creators=70, videos=900, shoppers=700, interactions=10
    )
    world = DemoWorld(bigger, seed=42)
    assert list(islice(world.sellers(), SIZE.sellers)) == snap.sellers
    assert list(islice(world.creators(), SIZE.creators)) == snap.creators
    assert list(islice(world.shoppers(), SIZE.shoppers)) == snap.shoppers


def test_interactions_prefix_stable(snap: Snapshot) -> None:
    fewer = DemoWorld(dataclasses.replace(SIZE, interactions=1_234), seed=42)
    assert list(fewer.interactions()) == snap.interactions[:1_234]
    assert len(snap.interactions) == SIZE.interactions


# -- identity and references ------------------------------------------------------------------


def test_ids_and_handles_unique(snap: Snapshot) -> None:
    for items in (snap.sellers, snap.products, snap.creators, snap.videos, snap.shoppers):
        ids = [item.id for item in items]
        assert len(set(ids)) == len(ids)
    assert [s.id for s in snap.sellers[:2]] == ["shop_000000", "shop_000001"]
    assert snap.products[5].id == "prod_0000005"
    assert snap.creators[3].id == "cr_00003"
    assert snap.videos[12].id == "vid_000012"
    assert snap.shoppers[7].id == "shopper_000007"
    handles = [s.handle for s in snap.sellers]
    assert len(set(handles)) == len(handles)
    creator_handles = [c.handle for c in snap.creators]
    assert len(set(creator_handles)) == len(creator_handles)
    for handle in handles:
        assert handle == handle.lower() and " " not in handle and handle.isascii()
    variants = [v for p in snap.products for v in p.variants]
    assert len({v.id for v in variants}) == len(variants)
    assert len({v.sku for v in variants}) == len(variants)
    assert len({v.barcode for v in variants}) == len(variants)
    emails = [s.owner_email for s in snap.sellers] + [c.user_email for c in snap.creators]
    emails += [s.email for s in snap.shoppers]
    assert len(set(emails)) == len(emails)
    assert snap.sellers[3].owner_email == "seller3@demo.shopreel.test"
    assert snap.creators[4].user_email == "creator4@demo.shopreel.test"
    assert snap.shoppers[9].email == "shopper9@demo.shopreel.test"


def test_demo_shop(snap: Snapshot) -> None:
    shop = snap.sellers[0]
    assert (shop.handle, shop.name, shop.country, shop.region) == (
        "demo-shop",
        "Demo Shop",
        "US",
        "us",
    )
    assert sum(p.seller_id == shop.id for p in snap.products) >= 10


def test_references_exist(snap: Snapshot) -> None:
    seller_ids = {s.id for s in snap.sellers}
    product_ids = {p.id for p in snap.products}
    creator_ids = {c.id for c in snap.creators}
    video_ids = {v.id for v in snap.videos}
    shoppers = {s.id: s for s in snap.shoppers}
    assert all(p.seller_id in seller_ids for p in snap.products)
    assert all(v.creator_id in creator_ids for v in snap.videos)
    tagged = [pid for v in snap.videos for pid in v.tagged_product_ids]
    assert tagged and set(tagged) <= product_ids
    assert all(len(set(v.tagged_product_ids)) == len(v.tagged_product_ids) for v in snap.videos)
    assert all(0 <= len(v.tagged_product_ids) <= 3 for v in snap.videos)
    for event in snap.interactions:
        assert event.kind in INTERACTION_KINDS
        assert event.region == shoppers[event.shopper_id].region
        assert event.video_id is None or event.video_id in video_ids
        assert event.product_id is None or event.product_id in product_ids
        assert (event.watch_ms is not None) == (event.kind == "view")
        if event.kind in ("product_click", "add_to_cart", "purchase"):
            assert event.product_id is not None
        else:
            assert event.video_id is not None and event.product_id is None


def test_categories_are_real_leaves(snap: Snapshot) -> None:
    taxonomy = default_taxonomy()
    for product in snap.products:
        assert taxonomy.is_leaf(product.category_id)
        path = taxonomy.get(product.category_id).path
        assert path[0] not in ("Mature", "Business & Industrial")
    roots = Counter(taxonomy.root_of(p.category_id).name for p in snap.products)
    top = {name for name, _ in roots.most_common(4)}
    heavy = {"Apparel & Accessories", "Home & Garden", "Health & Beauty", "Electronics"}
    assert len(top & heavy) >= 3


def test_titles_fit_categories(snap: Snapshot) -> None:
    taxonomy = default_taxonomy()
    for product in snap.products:
        leaf = taxonomy.get(product.category_id).name.lower()
        noun = product.title.split(" ")[-1].lower()
        assert noun[:3] in leaf, (product.title, leaf)
        assert product.description and product.description[0].isupper()
        assert 2 <= len(product.tags) <= 5 and len(set(product.tags)) == len(product.tags)
        assert product.status == "live"


# -- products and variants --------------------------------------------------------------------


def test_variants(snap: Snapshot) -> None:
    counts = Counter(len(p.variants) for p in snap.products)
    assert min(counts) >= 1 and max(counts) <= 12
    assert counts[1] > 0 and sum(c for n, c in counts.items() if n >= 4) > 0
    endings: Counter[int] = Counter()
    for product in snap.products:
        axes = {tuple(v.options) for v in product.variants}
        assert len(axes) == 1 and len(next(iter(axes))) <= 3
        combos = [tuple(v.options.items()) for v in product.variants]
        assert len(set(combos)) == len(combos)
        for variant in product.variants:
            assert variant.id.startswith(product.id.replace("prod_", "var_") + "_")
            assert isinstance(variant.price_cents, int) and variant.price_cents > 0
            if variant.compare_at_cents is not None:
                assert isinstance(variant.compare_at_cents, int)
                assert variant.compare_at_cents > variant.price_cents
            assert variant.currency == "USD"
            assert isinstance(variant.weight_grams, int) and variant.weight_grams > 0
            assert is_valid_ean13(variant.barcode)
            endings[variant.price_cents % 100] += 1
    total = sum(endings.values())
    assert (endings[99] + endings[0]) / total > 0.7
    assert any(v.compare_at_cents for p in snap.products for v in p.variants)
    prices = sorted(p.variants[0].price_cents for p in snap.products)
    assert 800 < prices[len(prices) // 2] < 15_000  # median between $8 and $150


def test_ean13_helpers() -> None:
    assert ean13_check_digit("400638133393") == 1
    assert is_valid_ean13("4006381333931")
    assert not is_valid_ean13("4006381333932")
    assert not is_valid_ean13("400638133393")
    with pytest.raises(ValueError):
        ean13_check_digit("12345")


def test_sellers_are_long_tailed(snap: Snapshot) -> None:
    per_seller = Counter(p.seller_id for p in snap.products)
    ranked = [n for _, n in per_seller.most_common()]
    assert ranked[0] >= 5 * (sorted(ranked)[len(ranked) // 2])
    assert sum(ranked[:4]) > 0.3 * len(snap.products)


# -- people, places, time ---------------------------------------------------------------------


def test_regions_match_countries(snap: Snapshot) -> None:
    people: list[Person] = [*snap.sellers, *snap.creators, *snap.shoppers]
    for person in people:
        assert (person.region == "us") == (person.country == "US")
        assert person.region in ("us", "intl")
    creators = {c.id: c for c in snap.creators}
    for video in snap.videos:
        assert video.region == creators[video.creator_id].region
    us_share = sum(s.country == "US" for s in snap.shoppers) / len(snap.shoppers)
    assert 0.45 < us_share < 0.65
    assert len({s.country for s in snap.shoppers}) >= 8
    assert any(not s.display_name.isascii() for s in snap.shoppers)


def test_regions_parameter() -> None:
    size = WorldSize(sellers=30, products=50, creators=20, videos=30, shoppers=60, interactions=500)
    us_only = snapshot(DemoWorld(size, regions=("us",)))
    people: list[Person] = [*us_only.sellers, *us_only.creators, *us_only.shoppers]
    for person in people:
        assert person.country == "US"
    assert {e.region for e in us_only.interactions} == {"us"}
    intl = snapshot(DemoWorld(size, regions=("intl",)))
    people = [*intl.sellers, *intl.creators, *intl.shoppers]
    for person in people:
        assert person.country != "US" and person.region == "intl"
    with pytest.raises(ValueError):
        DemoWorld(size, regions=("eu",))
    with pytest.raises(ValueError):
        DemoWorld(size, regions=())


def test_datetimes_are_utc_and_in_range(snap: Snapshot) -> None:
    stamps = [s.created_at for s in snap.sellers] + [p.created_at for p in snap.products]
    stamps += [v.created_at for v in snap.videos]
    stamps += [e.occurred_at for e in snap.interactions]
    for stamp in stamps:
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
        assert stamp.tzinfo is UTC
        assert stamp < EPOCH
    assert all(EPOCH - s.created_at <= timedelta(days=731) for s in snap.sellers)
    sellers = {s.id: s for s in snap.sellers}
    products = {p.id: p for p in snap.products}
    for product in snap.products:
        assert product.created_at >= sellers[product.seller_id].created_at
    videos = {v.id: v for v in snap.videos}
    for video in snap.videos:
        assert all(products[p].created_at < video.created_at for p in video.tagged_product_ids)
        assert 5 <= video.duration_s <= 90
    window_start = EPOCH - timedelta(days=90)
    for event in snap.interactions:
        assert event.occurred_at >= window_start
        if event.video_id is not None:
            assert event.occurred_at >= videos[event.video_id].created_at
        if event.product_id is not None:
            assert event.occurred_at >= products[event.product_id].created_at


def test_time_of_day_pattern(snap: Snapshot) -> None:
    us = {s.id for s in snap.shoppers if s.country == "US"}
    hours = Counter(e.occurred_at.hour for e in snap.interactions if e.shopper_id in us)
    # US evenings (about 00:00-04:00 UTC) are much busier than US early mornings.
    evening = sum(hours[h] for h in (0, 1, 2, 3))
    early_morning = sum(hours[h] for h in (8, 9, 10, 11))
    assert evening > 3 * early_morning


# -- engagement -------------------------------------------------------------------------------


def test_funnel_ordering(snap: Snapshot) -> None:
    counts = Counter(e.kind for e in snap.interactions)
    assert set(counts) == set(INTERACTION_KINDS)
    funnel = [counts[k] for k in FUNNEL]
    assert funnel == sorted(funnel, reverse=True)
    assert counts["impression"] > 2 * counts["view"]
    assert counts["view"] > 4 * counts["like"]
    assert counts["product_click"] > 2 * counts["purchase"]


def test_products_are_long_tailed(snap: Snapshot) -> None:
    per_product = Counter(e.product_id for e in snap.interactions if e.product_id)
    counts = sorted((per_product.get(p.id, 0) for p in snap.products), reverse=True)
    top = counts[: len(counts) // 10]
    assert sum(top) > 0.4 * sum(counts)
    per_video = Counter(e.video_id for e in snap.interactions if e.video_id)
    video_counts = sorted((per_video.get(v.id, 0) for v in snap.videos), reverse=True)
    assert sum(video_counts[: len(video_counts) // 10]) > 0.4 * sum(video_counts)


def test_shopper_activity_is_long_tailed(snap: Snapshot) -> None:
    per_shopper = Counter(e.shopper_id for e in snap.interactions)
    counts = sorted(per_shopper.values(), reverse=True)
    assert sum(counts[: len(snap.shoppers) // 10]) > 0.3 * sum(counts)


def test_shoppers_have_category_tastes(snap: Snapshot) -> None:
    taxonomy = default_taxonomy()
    products = {p.id: p for p in snap.products}
    video_root = {
        v.id: taxonomy.root_of(products[v.tagged_product_ids[0]].category_id).id
        for v in snap.videos
        if v.tagged_product_ids
    }
    per_shopper: dict[str, Counter[int]] = defaultdict(Counter)
    overall: Counter[int] = Counter()
    for event in snap.interactions:
        root = video_root.get(event.video_id or "")
        if root is not None:
            per_shopper[event.shopper_id][root] += 1
            overall[root] += 1
    shares = [
        sum(n for _, n in counter.most_common(3)) / sum(counter.values())
        for counter in per_shopper.values()
        if sum(counter.values()) >= 30
    ]
    baseline = sum(n for _, n in overall.most_common(3)) / sum(overall.values())
    assert len(shares) >= 20
    assert sum(shares) / len(shares) > baseline + 0.15


# -- misc -------------------------------------------------------------------------------------


def test_fixed_logins() -> None:
    logins = DemoWorld(WorldSize(1, 1, 1, 1, 1, 1)).fixed_logins()
    assert [login.email for login in logins] == [
        "shopper@demo.shopreel.test",
        "seller@demo.shopreel.test",
        "creator@demo.shopreel.test",
        "trust.us@demo.shopreel.test",
        "hq@demo.shopreel.test",
        "ops.us@demo.shopreel.test",
    ]
    assert [login.role for login in logins] == [
        "shopper",
        "seller",
        "creator",
        "staff",
        "staff",
        "staff",
    ]
    assert all(login.password == DEMO_PASSWORD == "shopreel-demo-2026" for login in logins)
    assert [login.jurisdiction for login in logins] == [None, None, None, "US", "SG", "US"]
    assert [login.staff_roles for login in logins][3:] == [
        ("trust_officer",),
        ("analyst",),
        ("seller_ops", "catalog_reviewer"),
    ]
    assert [(login.country, login.region) for login in logins] == [
        ("US", "us"),
        ("US", "us"),
        ("US", "us"),
        ("US", "us"),
        ("SG", "intl"),
        ("US", "us"),
    ]
    assert "demo-shop" in logins[1].description


def test_world_size_validation() -> None:
    with pytest.raises(ValueError):
        WorldSize(sellers=-1)
    with pytest.raises(ValueError):
        WorldSize(sellers=0, products=5)
    with pytest.raises(ValueError):
        WorldSize(creators=0, videos=5)
    empty = DemoWorld(WorldSize(0, 0, 0, 0, 0, 100))
    assert list(empty.interactions()) == []
    assert list(empty.products()) == []


def test_without_videos_shoppers_browse_products() -> None:
    world = DemoWorld(
        WorldSize(sellers=5, products=40, creators=0, videos=0, shoppers=20, interactions=300)
    )
    events = list(world.interactions())
    assert len(events) == 300
    assert {e.kind for e in events} <= {"product_click", "add_to_cart", "purchase"}
    assert all(e.video_id is None for e in events)


def test_custom_taxonomy() -> None:
    taxonomy = Taxonomy.parse(
        "1 - Apparel & Accessories\n"
        "2 - Apparel & Accessories > Clothing\n"
        "3 - Apparel & Accessories > Clothing > Shirts & Tops\n"
        "4 - Apparel & Accessories > Clothing > Dresses\n"
        "5 - Gadgets\n"
        "6 - Gadgets > Widgets\n"
    )
    world = DemoWorld(
        WorldSize(sellers=3, products=60, creators=2, videos=5, shoppers=5, interactions=50),
        taxonomy=taxonomy,
    )
    products = list(world.products())
    assert {p.category_id for p in products} <= {3, 4, 6}
    assert len({p.category_id for p in products}) == 3
    assert len(list(world.interactions())) == 50
