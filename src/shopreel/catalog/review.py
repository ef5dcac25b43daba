"""Automated listing screening: pure rules over a listing's facts, no I/O but loading the rules.

The rules are data the governance plane owns: the setting ``catalog.listing_rules`` (global
scope; every region's trust officer approves a change), validated by :func:`parse_rules`.
Until it is set, the packaged default ``data/listing_rules.json`` applies.

:func:`screen` returns findings of three severities:

* ``prohibited`` — the listing is rejected outright (prohibited category or keyword);
* ``review`` — the listing waits for staff (restricted category or keyword, a price that
  fails the sanity checks, a missing image);
* nothing — the listing may go live.

Category rules cover the whole subtree (a rule on "Mature > Weapons" covers "Guns").
Keywords match whole words, case-insensitively, in the title, the description's text, the
tags, the vendor and the product type; a phrase matches with any whitespace or hyphens between
its words ("weight loss" matches "Weight-Loss"). A finding names the first field that matched.
Tags are matched one by one, so a phrase never spans two tags.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.catalog.models import ReviewOutcome
from shopreel.catalog.taxonomy import Taxonomy, UnknownCategory

SETTING_KEY: Final = "catalog.listing_rules"
MAX_TERMS: Final = 1000
MAX_TERM_LENGTH: Final = 100
MAX_REASON_LENGTH: Final = 300


class RulesInvalid(ValueError):
    """A listing-rules document does not have the documented shape."""


class Severity(StrEnum):
    PROHIBITED = "prohibited"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class CategoryRule:
    category_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class KeywordRule:
    term: str
    reason: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PriceRule:
    min_cents: int
    max_cents: int
    max_compare_at_ratio: int


@dataclass(frozen=True, slots=True)
class ListingRules:
    version: str
    prohibited_categories: tuple[CategoryRule, ...]
    restricted_categories: tuple[CategoryRule, ...]
    prohibited_keywords: tuple[KeywordRule, ...]
    restricted_keywords: tuple[KeywordRule, ...]
    require_image: bool
    price: PriceRule


@dataclass(frozen=True, slots=True)
class VariantFacts:
    price_cents: int
    compare_at_cents: int | None = None
    sku: str = ""


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What screening looks at. ``description_text`` is the description without markup."""

    title: str
    description_text: str = ""
    tags: Sequence[str] = ()
    vendor: str = ""
    product_type: str = ""
    category_id: int | None = None
    variants: Sequence[VariantFacts] = ()
    image_count: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    field: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "field": self.field,
        }


def outcome_of(findings: Iterable[Finding]) -> ReviewOutcome:
    """``rejected`` if anything is prohibited, ``flagged`` if anything needs review, else
    ``passed``."""
    severities = {finding.severity for finding in findings}
    if Severity.PROHIBITED in severities:
        return ReviewOutcome.REJECTED
    if Severity.REVIEW in severities:
        return ReviewOutcome.FLAGGED
    return ReviewOutcome.PASSED


# ---- rules documents -------------------------------------------------------------------------


def _keyword_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in term.split()]
    # whole words, any whitespace or hyphen between the words of a phrase
    return re.compile(r"(?<!\w)" + r"[\s\-]+".join(words) + r"(?!\w)", re.IGNORECASE)


def _reason(entry: Mapping[str, Any], where: str) -> str:
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise RulesInvalid(f"{where}: 'reason' must be a non-empty string")
    if len(reason) > MAX_REASON_LENGTH:
        raise RulesInvalid(f"{where}: 'reason' is longer than {MAX_REASON_LENGTH} characters")
    return reason.strip()


def _entries(document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise RulesInvalid(f"'{key}' must be a list")
    if len(value) > MAX_TERMS:
        raise RulesInvalid(f"'{key}' has more than {MAX_TERMS} entries")
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise RulesInvalid(f"{key}[{index}] must be an object")
    return value


def _categories(
    document: Mapping[str, Any], key: str, taxonomy: Taxonomy
) -> tuple[CategoryRule, ...]:
    rules = []
    for index, entry in enumerate(_entries(document, key)):
        where = f"{key}[{index}]"
        category_id = entry.get("id")
        if isinstance(category_id, bool) or not isinstance(category_id, int):
            raise RulesInvalid(f"{where}: 'id' must be a Google product taxonomy id")
        if category_id not in taxonomy:
            raise RulesInvalid(f"{where}: {category_id} is not a Google product taxonomy id")
        rules.append(CategoryRule(category_id, _reason(entry, where)))
    return tuple(rules)


def _keywords(document: Mapping[str, Any], key: str) -> tuple[KeywordRule, ...]:
    rules = []
    for index, entry in enumerate(_entries(document, key)):
        where = f"{key}[{index}]"
        term = entry.get("term")
        if not isinstance(term, str) or not term.split():
            raise RulesInvalid(f"{where}: 'term' must be a non-empty string")
        if len(term) > MAX_TERM_LENGTH:
            raise RulesInvalid(f"{where}: 'term' is longer than {MAX_TERM_LENGTH} characters")
        term = " ".join(term.split())
        rules.append(KeywordRule(term, _reason(entry, where), _keyword_pattern(term)))
    return tuple(rules)


def _int(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RulesInvalid(f"{where} must be an integer >= {minimum}")
    return value


def parse_rules(document: Any, taxonomy: Taxonomy | None = None) -> ListingRules:
    """Validate a rules document (the packaged default or the governance setting's value)."""
    if not isinstance(document, dict):
        raise RulesInvalid("listing rules must be a JSON object")
    known = {
        "version",
        "prohibited_categories",
        "restricted_categories",
        "prohibited_keywords",
        "restricted_keywords",
        "require_image",
        "price",
    }
    unknown = sorted(set(document) - known)
    if unknown:
        raise RulesInvalid(f"unknown keys: {', '.join(unknown)}")
    taxonomy = taxonomy or Taxonomy.load()
    price = document.get("price", {})
    if not isinstance(price, dict):
        raise RulesInvalid("'price' must be an object")
    min_cents = _int(price.get("min_cents", 1), "price.min_cents", 0)
    max_cents = _int(price.get("max_cents", 2**31 - 1), "price.max_cents", 1)
    if max_cents < min_cents:
        raise RulesInvalid("price.max_cents must not be below price.min_cents")
    ratio = _int(price.get("max_compare_at_ratio", 10), "price.max_compare_at_ratio", 1)
    require_image = document.get("require_image", True)
    if not isinstance(require_image, bool):
        raise RulesInvalid("'require_image' must be true or false")
    version = document.get("version")
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    if version is None:
        version = "sha256:" + hashlib.sha256(canonical).hexdigest()[:16]
    if not isinstance(version, str) or not 0 < len(version) <= 64:
        raise RulesInvalid("'version' must be a string of at most 64 characters")
    return ListingRules(
        version=version,
        prohibited_categories=_categories(document, "prohibited_categories", taxonomy),
        restricted_categories=_categories(document, "restricted_categories", taxonomy),
        prohibited_keywords=_keywords(document, "prohibited_keywords"),
        restricted_keywords=_keywords(document, "restricted_keywords"),
        require_image=require_image,
        price=PriceRule(min_cents, max_cents, ratio),
    )


@lru_cache(maxsize=1)
def default_rules() -> ListingRules:
    """The packaged rules (``data/listing_rules.json``)."""
    text = (resources.files("shopreel.catalog") / "data" / "listing_rules.json").read_text(
        encoding="utf-8"
    )
    return parse_rules(json.loads(text))


async def load_rules(control: AsyncSession) -> ListingRules:
    """The rules in force: the governance setting ``catalog.listing_rules`` (global scope)
    if it was ever set, else the packaged default. A stored value that no longer validates
    raises :class:`RulesInvalid` rather than screening with rules nobody approved."""
    from shopreel.governance import service as governance

    value = await governance.effective_setting(control, SETTING_KEY, None)
    if value is None:
        return default_rules()
    return parse_rules(value)


# ---- screening -------------------------------------------------------------------------------


def _category_hits(
    category_id: int | None, rules: Sequence[CategoryRule], taxonomy: Taxonomy
) -> list[CategoryRule]:
    if category_id is None:
        return []
    try:
        lineage = {category.id for category in taxonomy.ancestors(category_id)}
    except (UnknownCategory, KeyError):
        return []
    lineage.add(category_id)
    return [rule for rule in rules if rule.category_id in lineage]


def _keyword_hits(
    facts: ListingFacts, rules: Sequence[KeywordRule]
) -> list[tuple[KeywordRule, str]]:
    """Each matching rule once, with the first field it matched in (shown to the seller)."""
    fields = (
        ("title", facts.title),
        ("description_html", facts.description_text),
        *(("tags", tag) for tag in facts.tags),
        ("vendor", facts.vendor),
        ("product_type", facts.product_type),
    )
    hits: list[tuple[KeywordRule, str]] = []
    for rule in rules:
        for name, text in fields:
            if text and rule.pattern.search(text):
                hits.append((rule, name))
                break
    return hits


def screen(
    facts: ListingFacts, rules: ListingRules, taxonomy: Taxonomy | None = None
) -> list[Finding]:
    """Every finding about a listing, prohibited ones first. Empty: it may go live."""
    taxonomy = taxonomy or Taxonomy.load()
    findings: list[Finding] = []
    for category_rule in _category_hits(facts.category_id, rules.prohibited_categories, taxonomy):
        findings.append(
            Finding("prohibited_category", Severity.PROHIBITED, category_rule.reason, "category_id")
        )
    for keyword_rule, where in _keyword_hits(facts, rules.prohibited_keywords):
        findings.append(
            Finding(
                "prohibited_keyword",
                Severity.PROHIBITED,
                f"{keyword_rule.reason} (matched {keyword_rule.term!r})",
                where,
            )
        )
    for category_rule in _category_hits(facts.category_id, rules.restricted_categories, taxonomy):
        findings.append(
            Finding("restricted_category", Severity.REVIEW, category_rule.reason, "category_id")
        )
    for keyword_rule, where in _keyword_hits(facts, rules.restricted_keywords):
        findings.append(
            Finding(
                "restricted_keyword",
                Severity.REVIEW,
                f"{keyword_rule.reason} (matched {keyword_rule.term!r})",
                where,
            )
        )
    if rules.require_image and facts.image_count < 1:
        findings.append(
            Finding("missing_image", Severity.REVIEW, "Add at least one product image.", "images")
        )
    if not facts.variants:
        findings.append(
            Finding("no_variants", Severity.REVIEW, "A listing needs a price.", "variants")
        )
    findings.extend(_price_findings(facts.variants, rules.price))
    return findings


def _price_findings(variants: Sequence[VariantFacts], rule: PriceRule) -> list[Finding]:
    findings: list[Finding] = []
    for index, variant in enumerate(variants):
        label = f"variants[{index}]" + (f" ({variant.sku})" if variant.sku else "")
        if variant.price_cents < rule.min_cents:
            findings.append(
                Finding(
                    "price_too_low",
                    Severity.REVIEW,
                    f"{label}: price {variant.price_cents} cents is below the minimum of "
                    f"{rule.min_cents} cents",
                    "price_cents",
                )
            )
        if variant.price_cents > rule.max_cents:
            findings.append(
                Finding(
                    "price_too_high",
                    Severity.REVIEW,
                    f"{label}: price {variant.price_cents} cents is above {rule.max_cents} "
                    "cents and needs review",
                    "price_cents",
                )
            )
        compare_at = variant.compare_at_cents
        ceiling = variant.price_cents * rule.max_compare_at_ratio
        if compare_at is not None and variant.price_cents > 0 and compare_at > ceiling:
            findings.append(
                Finding(
                    "implausible_compare_at",
                    Severity.REVIEW,
                    f"{label}: compare-at price {compare_at} cents is more than "
                    f"{rule.max_compare_at_ratio}x the price (a fake discount?)",
                    "compare_at_cents",
                )
            )
    return findings
