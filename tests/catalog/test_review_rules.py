"""Listing screening rules (catalog/review.py): the rules document's validation, subtree
category matching, whole-word keywords and phrases, price sanity, outcomes, and the
governance setting ``catalog.listing_rules`` overriding the packaged default."""

from __future__ import annotations

from typing import Any

import pytest

from shopreel.catalog.models import ReviewOutcome
from shopreel.catalog.review import (
    SETTING_KEY,
    Finding,
    ListingFacts,
    RulesInvalid,
    Severity,
    VariantFacts,
    default_rules,
    load_rules,
    outcome_of,
    parse_rules,
    screen,
)
from shopreel.governance import service as governance
from shopreel.governance.errors import InvalidValue
from shopreel.governance.rules import Actor
from shopreel.planes import CONTROL
from shopreel.runtime import Runtime

WEAPONS = 780  # Mature > Weapons
BRASS_KNUCKLES = 3833  # Mature > Weapons > Brass Knuckles
AMMUNITION = 781  # Mature > Weapons > Gun Care & Accessories > Ammunition
MATURE = 772
MUGS = 2169
WINE = 421  # Food, Beverages & Tobacco > Beverages > Alcoholic Beverages > Wine


def facts(**overrides: Any) -> ListingFacts:
    values: dict[str, Any] = {
        "title": "Stoneware mug",
        "description_text": "A handmade mug.",
        "tags": ("kitchen",),
        "category_id": MUGS,
        "variants": (VariantFacts(2400, None, "MUG-1"),),
        "image_count": 1,
    }
    values.update(overrides)
    return ListingFacts(**values)


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def rules_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "test-1",
        "prohibited_categories": [{"id": WEAPONS, "reason": "No weapons."}],
        "restricted_categories": [{"id": WINE, "reason": "Wine needs review."}],
        "prohibited_keywords": [{"term": "counterfeit", "reason": "No fakes."}],
        "restricted_keywords": [{"term": "weight loss", "reason": "Claims need review."}],
        "require_image": True,
        "price": {"min_cents": 100, "max_cents": 100_000, "max_compare_at_ratio": 5},
    }
    doc.update(overrides)
    return doc


# ---- parse_rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"colour": []}, "unknown keys: colour"),
        ({"prohibited_categories": {}}, "'prohibited_categories' must be a list"),
        ({"prohibited_categories": ["780"]}, "prohibited_categories[0] must be an object"),
        ({"prohibited_categories": [{"id": "780", "reason": "x"}]}, "'id' must be a Google"),
        ({"prohibited_categories": [{"id": True, "reason": "x"}]}, "'id' must be a Google"),
        ({"restricted_categories": [{"id": 98765432, "reason": "x"}]}, "98765432 is not a Google"),
        ({"prohibited_categories": [{"id": 780}]}, "'reason' must be a non-empty string"),
        ({"prohibited_categories": [{"id": 780, "reason": " "}]}, "non-empty"),
        ({"prohibited_categories": [{"id": 780, "reason": "x" * 301}]}, "longer than 300"),
        ({"prohibited_keywords": [{"term": " ", "reason": "x"}]}, "'term' must be a non-empty"),
        ({"restricted_keywords": [{"term": "x" * 101, "reason": "x"}]}, "longer than 100"),
        (
            {"prohibited_keywords": [{"term": f"t{i}", "reason": "x"} for i in range(1001)]},
            "more than 1000",
        ),
        ({"require_image": "yes"}, "'require_image' must be true or false"),
        ({"price": []}, "'price' must be an object"),
        ({"price": {"min_cents": -1}}, "price.min_cents must be an integer >= 0"),
        ({"price": {"min_cents": 500, "max_cents": 100}}, "must not be below"),
        ({"price": {"max_compare_at_ratio": 0}}, "max_compare_at_ratio must be an integer >= 1"),
        ({"price": {"max_cents": 1.5}}, "price.max_cents must be an integer"),
        ({"version": 3}, "'version' must be a string"),
        ({"version": "v" * 65}, "at most 64"),
    ],
)
def test_parse_rules_refuses_malformed_documents(document: Any, message: str) -> None:
    with pytest.raises(RulesInvalid) as raised:
        parse_rules(document)
    assert message in str(raised.value)


def test_parse_rules_defaults_and_content_version() -> None:
    parsed = parse_rules({})
    assert parsed.require_image is True
    assert (parsed.price.min_cents, parsed.price.max_compare_at_ratio) == (1, 10)
    assert parsed.version.startswith("sha256:")
    assert parse_rules({}).version == parsed.version  # the same document, the same version
    assert parse_rules({"require_image": False}).version != parsed.version
    assert parse_rules(rules_doc()).version == "test-1"


def test_packaged_default_rules_parse() -> None:
    rules = default_rules()
    assert rules.version == "default-2026-11"
    assert {rule.category_id for rule in rules.prohibited_categories} == {780, 773, 435}
    assert "replica" in {rule.term for rule in rules.prohibited_keywords}


# ---- screening -------------------------------------------------------------------------------


def test_a_clean_listing_passes() -> None:
    findings = screen(facts(), parse_rules(rules_doc()))
    assert findings == []
    assert outcome_of(findings) is ReviewOutcome.PASSED


def test_category_rules_cover_the_whole_subtree() -> None:
    rules = parse_rules(rules_doc())
    for category in (WEAPONS, BRASS_KNUCKLES, AMMUNITION):
        findings = screen(facts(category_id=category), rules)
        assert codes(findings) == ["prohibited_category"], category
        assert findings[0].field == "category_id"
    # the parent of a rule's category is not covered
    assert screen(facts(category_id=MATURE), rules) == []
    wine = screen(facts(category_id=WINE), rules)
    assert codes(wine) == ["restricted_category"]
    assert outcome_of(wine) is ReviewOutcome.FLAGGED
    # an unknown category id matches nothing (the service refuses such ids before screening)
    assert screen(facts(category_id=999_999_999), rules) == []


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("COUNTERFEIT bag", True),
        ("counterfeit.", True),
        ("(counterfeit)", True),
        ("anti-counterfeit hologram", True),  # hyphens separate words
        ("counterfeiter tools", False),
        ("noncounterfeit", False),
        ("counter feit", False),
    ],
)
def test_keywords_match_whole_words(text: str, matches: bool) -> None:
    findings = screen(facts(title=text), parse_rules(rules_doc()))
    assert (codes(findings) == ["prohibited_keyword"]) is matches


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("fast weight loss", True),
        ("Weight-Loss tea", True),
        ("weight   loss", True),
        ("weight\nloss", True),
        ("weightloss", False),
        ("weight lossless", False),
        ("loss of weight", False),
    ],
)
def test_phrases_match_with_any_spacing(text: str, matches: bool) -> None:
    findings = screen(facts(description_text=text), parse_rules(rules_doc()))
    assert (codes(findings) == ["restricted_keyword"]) is matches
    if matches:
        assert findings[0].field == "description_html"
        assert "weight loss" in findings[0].message


def test_keywords_are_searched_in_every_text_field() -> None:
    rules = parse_rules(rules_doc())
    for field, overrides in (
        ("tags", {"tags": ("sale", "Counterfeit")}),
        ("vendor", {"vendor": "Counterfeit Co"}),
        ("product_type", {"product_type": "counterfeit goods"}),
    ):
        findings = screen(facts(**overrides), rules)
        assert [(f.code, f.field) for f in findings] == [("prohibited_keyword", field)]
    # a phrase does not span two tags
    assert screen(facts(tags=("weight", "loss")), rules) == []


def test_price_sanity() -> None:
    rules = parse_rules(rules_doc())
    low = screen(facts(variants=(VariantFacts(99, None, "A"),)), rules)
    assert codes(low) == ["price_too_low"]
    assert "(A)" in low[0].message
    high = screen(facts(variants=(VariantFacts(100_001),)), rules)
    assert codes(high) == ["price_too_high"]
    assert screen(facts(variants=(VariantFacts(100), VariantFacts(100_000))), rules) == []
    ratio = screen(facts(variants=(VariantFacts(1000, 5001),)), rules)
    assert codes(ratio) == ["implausible_compare_at"]
    assert screen(facts(variants=(VariantFacts(1000, 5000),)), rules) == []
    assert codes(screen(facts(variants=()), rules)) == ["no_variants"]
    assert all(f.severity is Severity.REVIEW for f in low + high + ratio)


def test_missing_image_only_when_required() -> None:
    assert codes(screen(facts(image_count=0), parse_rules(rules_doc()))) == ["missing_image"]
    relaxed = parse_rules(rules_doc(require_image=False))
    assert screen(facts(image_count=0), relaxed) == []


def test_outcome_of_takes_the_worst_finding() -> None:
    review = Finding("x", Severity.REVIEW, "m")
    prohibited = Finding("y", Severity.PROHIBITED, "m")
    assert outcome_of([]) is ReviewOutcome.PASSED
    assert outcome_of([review]) is ReviewOutcome.FLAGGED
    assert outcome_of([review, prohibited]) is ReviewOutcome.REJECTED
    findings = screen(
        facts(title="counterfeit weight loss pills", category_id=WINE, image_count=0),
        parse_rules(rules_doc()),
    )
    assert codes(findings) == [
        "prohibited_keyword",
        "restricted_category",
        "restricted_keyword",
        "missing_image",
    ]
    assert findings[0].as_json() == {
        "code": "prohibited_keyword",
        "severity": "prohibited",
        "message": "No fakes. (matched 'counterfeit')",
        "field": "title",
    }


# ---- the governance setting overrides the packaged default ------------------------------------


async def _apply_setting(runtime: Runtime, value: Any) -> None:
    """Propose the setting and have every region's trust officer approve it."""
    regions = runtime.settings.region_names
    proposer = Actor("usr_us_analyst", True, frozenset({"analyst"}), "us")
    async with runtime.databases.transaction(CONTROL) as session:
        draft = governance.ProposalDraft(
            SETTING_KEY, "global", value, "Tighten the listing rules for the holiday season."
        )
        proposal = await governance.create_proposal(session, regions, proposer, draft)
    for region in regions:
        officer = Actor(f"usr_{region}_officer", True, frozenset({"trust_officer"}), region)
        async with runtime.databases.transaction(CONTROL) as session:
            await governance.approve(session, officer, proposal.id)


async def test_governance_setting_overrides_the_default(runtime: Runtime) -> None:
    async with runtime.databases.session(CONTROL) as session:
        assert (await load_rules(session)).version == default_rules().version
    doc = rules_doc(
        version="holiday-2026",
        restricted_keywords=[{"term": "mug", "reason": "Mugs need review this week."}],
    )
    await _apply_setting(runtime, doc)
    async with runtime.databases.session(CONTROL) as session:
        rules = await load_rules(session)
    assert rules.version == "holiday-2026"
    assert rules.price.min_cents == 100
    findings = screen(facts(), rules)
    assert [(f.code, f.message) for f in findings] == [
        ("restricted_keyword", "Mugs need review this week. (matched 'mug')")
    ]
    # the packaged default would have passed the same listing
    assert screen(facts(), default_rules()) == []


async def test_an_invalid_rules_document_is_refused_when_proposed(runtime: Runtime) -> None:
    proposer = Actor("usr_us_analyst", True, frozenset({"analyst"}), "us")
    bad = rules_doc(prohibited_categories=[{"id": 12345678, "reason": "?"}])
    async with runtime.databases.transaction(CONTROL) as session:
        draft = governance.ProposalDraft(
            SETTING_KEY, "global", bad, "An invalid document must never be proposed."
        )
        with pytest.raises(InvalidValue) as raised:
            await governance.create_proposal(
                session, runtime.settings.region_names, proposer, draft
            )
    assert "12345678 is not a Google product taxonomy id" in raised.value.detail
    async with runtime.databases.session(CONTROL) as session:
        assert await governance.effective_setting(session, SETTING_KEY, None) is None
        assert (await load_rules(session)).version == default_rules().version
