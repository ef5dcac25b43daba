"""Pure catalog rules (catalog/rules.py) without a database, and the service called directly
with a unit of work: the status machine, handles, tags, options, the variant grid, GTINs,
material changes, price history and lowest_price_since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from shopreel.accounts import service as accounts
from shopreel.catalog import rules, service
from shopreel.catalog.errors import ProductNotFound, ShopRequired, VersionConflict
from shopreel.catalog.models import PriceChange, ProductStatus, ReviewOutcome
from shopreel.catalog.rules import Action, RuleViolation, VariantSpec
from shopreel.errors import ValidationFailed
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import create_seller

# ---- status machine --------------------------------------------------------------------------

ALL = list(ProductStatus)
ALLOWED = {
    Action.SUBMIT: {"draft": "pending_review", "rejected": "pending_review"},
    Action.APPROVE: {"pending_review": "live"},
    Action.REJECT: {"pending_review": "rejected"},
    Action.TAKEDOWN: {"live": "rejected"},
    Action.ARCHIVE: {s: "archived" for s in ("draft", "pending_review", "live", "rejected")},
    Action.UNARCHIVE: {"archived": "draft"},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", ALL)
def test_transition_table(status: ProductStatus, action: Action) -> None:
    expected = ALLOWED[action].get(status.value)
    if expected is None:
        with pytest.raises(rules.InvalidTransition) as raised:
            rules.transition(status, action)
        assert raised.value.code == "invalid_transition"
    else:
        assert rules.transition(status.value, action).value == expected


def test_screening_outcomes() -> None:
    assert rules.after_screening(ReviewOutcome.PASSED) is ProductStatus.LIVE
    assert rules.after_screening(ReviewOutcome.FLAGGED) is ProductStatus.PENDING_REVIEW
    assert rules.after_screening(ReviewOutcome.REJECTED) is ProductStatus.REJECTED
    # a passing re-screen of a live listing keeps it live
    assert rules.after_live_edit(ReviewOutcome.PASSED) is ProductStatus.LIVE
    assert rules.after_live_edit(ReviewOutcome.FLAGGED) is ProductStatus.PENDING_REVIEW
    assert not rules.editable("archived") and rules.editable("live")


def test_material_changes() -> None:
    base = rules.ListingSnapshot("Mug", "<p>x</p>", 1, ("a",), ((100, None),))
    assert rules.material_changes(base, base) == []
    changed = rules.ListingSnapshot("Mug 2", "<p>x</p>", 2, ("a",), ((100, 200),))
    assert rules.material_changes(base, changed) == ["title", "category_id", "prices"]


# ---- handles, tags, options ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Stoneware Mug", "stoneware-mug"),
        ("  Café  au lait!! ", "café-au-lait"),
        ("T-Shirt (XL) / Blue", "t-shirt-xl-blue"),
        ("snake_case_name", "snake-case-name"),
        ("\uff21\uff22\uff23", "abc"),  # NFKC: full-width letters
        ("!!!", "product"),
        ("", "product"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert rules.slugify(title) == slug


@given(st.text(max_size=400))
def test_slugify_always_gives_a_valid_handle(title: str) -> None:
    slug = rules.slugify(title)
    assert rules.check_handle(slug) == slug
    assert len(slug) <= rules.MAX_HANDLE


def test_handles() -> None:
    assert rules.check_handle(" Blue-Mug ") == "blue-mug"
    for bad in ("", "-mug", "mug-", "mug mug", "mug/1", "x" * 256):
        with pytest.raises(RuleViolation):
            rules.check_handle(bad)
    assert rules.unique_handle("mug", []) == "mug"
    assert rules.unique_handle("mug", ["mug", "mug-2"]) == "mug-3"
    long = "x" * 255
    assert rules.unique_handle(long, [long]) == "x" * 253 + "-2"


def test_tags() -> None:
    assert rules.normalize_tags([" Kitchen ", "kitchen", "", "Hand  made", "KITCHEN"]) == [
        "Kitchen",
        "Hand made",
    ]
    assert len(rules.normalize_tags([f"t{i}" for i in range(50)] + ["t1"])) == 50
    with pytest.raises(RuleViolation, match="at most 50 tags"):
        rules.normalize_tags([f"t{i}" for i in range(51)])
    with pytest.raises(RuleViolation) as raised:
        rules.normalize_tags(["ok", "x" * 256])
    assert raised.value.field == "tags[1]"
    assert rules.split_tags("a, b,,c , ") == ["a", " b", "c "]


def test_option_names() -> None:
    assert rules.check_option_names([" Size ", "Color"]) == ["Size", "Color"]
    for bad in (["A", "B", "C", "D"], ["Size", "SIZE"], ["Size", " "]):
        with pytest.raises(RuleViolation) as raised:
            rules.check_option_names(bad)
        assert raised.value.code == "invalid_options"


# ---- variant grid ----------------------------------------------------------------------------


def test_variant_grid_rules() -> None:
    grid = rules.check_variants(
        ["Size", "Color"],
        [
            VariantSpec(
                {"size": "M", "Color": "Navy  Blue"}, " SKU-1 ", 1000, 1500, 200, None, 400
            ),
            VariantSpec({"Size": "L", "Color": "Navy Blue"}, "", 1100),
        ],
    )
    assert grid[0].options == {"Size": "M", "Color": "Navy Blue"}
    assert grid[0].sku == "SKU-1" and grid[0].position == 0 and grid[1].position == 1
    assert grid[0].options_key != grid[1].options_key
    assert rules.check_variants([], [VariantSpec({}, "", 0)])[0].options == {}

    def code(names: list[str], specs: list[VariantSpec]) -> tuple[str, str | None]:
        with pytest.raises(RuleViolation) as raised:
            rules.check_variants(names, specs)
        return raised.value.code, raised.value.field

    assert code(["Size"], [VariantSpec({}, "", 1)]) == (
        "missing_option_value",
        "variants[0].options.Size",
    )
    assert code(["Size"], [VariantSpec({"Size": "M", "Color": "x"}, "", 1)])[0] == "invalid_options"
    assert code(
        ["Size"], [VariantSpec({"Size": "m"}, "", 1), VariantSpec({"Size": " M"}, "", 2)]
    ) == (
        "duplicate_options",
        "variants[1].options",
    )
    assert code([], [VariantSpec({}, "", 1), VariantSpec({}, "", 2)])[0] == "duplicate_options"
    assert code([], [VariantSpec({}, "", 100, 100)])[0] == "invalid_compare_at"
    assert code([], [VariantSpec({}, "", 100, 50)])[0] == "invalid_compare_at"
    assert code([], [VariantSpec({}, "", -1)])[0] == "invalid_price"
    assert code([], [VariantSpec({}, "", 1, None, -5)])[0] == "invalid_weight"
    too_many = [VariantSpec({"Size": str(i)}, "", 1) for i in range(101)]
    assert code(["Size"], too_many)[0] == "too_many_variants"
    assert len(rules.check_variants(["Size"], too_many[:100])) == 100


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("4006381333931", True),  # EAN-13
        ("036000291452", True),  # UPC-A (GTIN-12)
        ("96385074", True),  # EAN-8
        ("10012345678902", True),  # GTIN-14
        ("4006381333932", False),  # wrong check digit
        ("400638133393", False),  # 12 digits, wrong check
        ("1234567", False),  # wrong length
        ("4006381333931a", False),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", False),  # Arabic-Indic digits are not GTIN digits
    ],
)
def test_gtin(code: str, valid: bool) -> None:
    assert rules.gtin_is_valid(code) is valid
    if valid:
        assert rules.check_barcode(f" {code} ", "barcode") == code
    else:
        with pytest.raises(RuleViolation) as raised:
            rules.check_barcode(code, "variants[0].barcode")
        assert (raised.value.code, raised.value.field) == ("invalid_barcode", "variants[0].barcode")


def test_empty_barcode_is_none() -> None:
    assert rules.check_barcode("", "b") is None and rules.check_barcode(None, "b") is None


def test_combinations() -> None:
    assert rules.combinations([["S", "M"], ["Red", "Blue"]]) == [
        ["S", "Red"],
        ["S", "Blue"],
        ["M", "Red"],
        ["M", "Blue"],
    ]
    assert rules.combinations([]) == []


# ---- price history ---------------------------------------------------------------------------

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def point(days: int, cents: int) -> rules.PricePoint:
    return rules.PricePoint(T0 + timedelta(days=days), cents)


def test_lowest_price_since() -> None:
    history = [point(0, 3000), point(10, 2000), point(20, 2500), point(30, 2800)]
    # the price in force at `since` counts, even though it was set before
    assert rules.lowest_price_since(history, T0 + timedelta(days=15)) == 2000
    assert rules.lowest_price_since(history, T0 + timedelta(days=25)) == 2500
    assert rules.lowest_price_since(history, T0 + timedelta(days=31)) == 2800
    assert rules.lowest_price_since(history, T0 - timedelta(days=1)) == 2000
    assert rules.lowest_price_since(list(reversed(history)), T0 + timedelta(days=15)) == 2000
    assert rules.lowest_price_since([], T0) is None
    assert rules.price_changed(None, (1, None))
    assert rules.price_changed((1, None), (1, 2))
    assert not rules.price_changed((1, 2), (1, 2))


@given(
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 10_000)), min_size=1, max_size=20),
    st.integers(0, 100),
)
def test_lowest_price_since_is_a_lower_bound(changes: list[tuple[int, int]], since: int) -> None:
    history = [point(day, cents) for day, cents in changes]
    lowest = rules.lowest_price_since(history, T0 + timedelta(days=since))
    later = [p.price_cents for p in history if p.changed_at > T0 + timedelta(days=since)]
    assert lowest is not None or not later
    if lowest is not None:
        assert all(lowest <= cents for cents in later)
        assert lowest in [p.price_cents for p in history]


# ---- the service with a unit of work ---------------------------------------------------------


async def test_service_flow_with_a_unit_of_work(runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    async with UnitOfWork(runtime.databases) as uow:
        principal = await accounts.load_principal(uow, runtime, seller.user, auth="session")
        product = await service.create_product(
            uow,
            principal,
            service.ProductDraft(
                title="Mug",
                option_names=["Size"],
                variants=[VariantSpec({"Size": "S"}, "S1", 1000)],
            ),
        )
        product_id = product.id
    async with UnitOfWork(runtime.databases) as uow:
        principal = await accounts.load_principal(uow, runtime, seller.user, auth="session")
        with pytest.raises(VersionConflict):
            await service.update_product(uow, principal, product_id, {"title": "x"}, 5)
    async with UnitOfWork(runtime.databases) as uow:
        principal = await accounts.load_principal(uow, runtime, seller.user, auth="session")
        with pytest.raises(ValidationFailed) as raised:
            await service.edit_product(uow, principal, product_id, option_names=["Color"])
        assert raised.value.code == "invalid_options"
        await service.replace_variants(
            uow,
            principal,
            product_id,
            [VariantSpec({"Size": "S"}, "S1", 900), VariantSpec({"Size": "M"}, "M1", 950)],
        )
        history = list(await uow.global_.scalars(select(PriceChange)))
        assert sorted((h.sku, h.price_cents, h.reason) for h in history) == [
            ("M1", 950, "create"),
            ("S1", 900, "update"),
            ("S1", 1000, "create"),
        ]
        view = await service.seller_view(uow, principal, product_id)
        assert view.product.version == 2
        points = [rules.PricePoint(h.changed_at, h.price_cents) for h in history if h.sku == "S1"]
        assert rules.lowest_price_since(points, T0) == 900
    other = await create_user(runtime, email="nobody@example.com")
    async with UnitOfWork(runtime.databases) as uow:
        principal = await accounts.load_principal(uow, runtime, other, auth="session")
        with pytest.raises(ShopRequired):
            await service.seller_view(uow, principal, product_id)
    intruder = await create_seller(runtime)
    async with UnitOfWork(runtime.databases) as uow:
        principal = await accounts.load_principal(uow, runtime, intruder.user, auth="session")
        with pytest.raises(ProductNotFound):
            await service.submit(uow, principal, product_id)
