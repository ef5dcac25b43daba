from __future__ import annotations

import hashlib
import re
from importlib import resources

import pytest

from shopreel.catalog.taxonomy import (
    Category,
    Taxonomy,
    TaxonomyParseError,
    UnknownCategory,
    default_taxonomy,
)

SMALL = """\
# Google_Product_Taxonomy_Version: 2030-01-02
1 - Animals & Pet Supplies
3237 - Animals & Pet Supplies > Live Animals
2 - Animals & Pet Supplies > Pet Supplies
3 - Animals & Pet Supplies > Pet Supplies > Bird Supplies
166 - Apparel & Accessories
1604 - Apparel & Accessories > Clothing
212 - Apparel & Accessories > Clothing > Shirts & Tops
3994 - Apparel & Accessories > Clothing > Piñatas
"""

# The nine lines that carried mojibake in the source blob (see catalog/data/SOURCE.md).
REPAIRED = {
    6100: "Corsage & Boutonnière Pins",
    5916: "Corsages & Boutonnières",
    3994: "Piñatas",
    6813: "Madroño",
    499988: "Prepared Meals & Entrées",
    6871: "Nutritional Food Purées",
    6838: "Crêpe & Blini Pans",
    4423: "Sauté Pans",
    499740: "Fencing Jackets & Lamés",
}
SHIPPED_SHA256 = "30039729880ec5ac4851de088ad228a6898aa253f0de5d5ebea5bb1437478fce"
# "Г" followed by another character from the Cyrillic block: UTF-8 read as Windows-1251.
MOJIBAKE = re.compile("[\u0413\u0432\u0420\u0440][\u0400-\u04ff\u00a0-\u00bf\u2018-\u203a]")


@pytest.fixture(scope="module")
def small() -> Taxonomy:
    return Taxonomy.parse(SMALL)


@pytest.fixture(scope="module")
def google() -> Taxonomy:
    return default_taxonomy()


# -- parser ---------------------------------------------------------------------------------


def test_parse_small(small: Taxonomy) -> None:
    assert small.version == "2030-01-02"
    assert len(small) == 8
    shirts = small.get(212)
    assert shirts == Category(
        212, "Shirts & Tops", ("Apparel & Accessories", "Clothing", "Shirts & Tops"), 1604
    )
    assert shirts.breadcrumb == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert shirts.level == 3
    assert [c.id for c in small.roots()] == [1, 166]
    assert [c.id for c in small.children(1)] == [3237, 2]
    assert small.children(3) == ()
    assert [c.id for c in small.ancestors(3)] == [1, 2]
    assert small.ancestors(1) == ()
    assert small.root_of(212).id == 166
    assert [c.id for c in small] == [1, 3237, 2, 3, 166, 1604, 212, 3994]
    assert small.is_leaf(3) and not small.is_leaf(2)
    assert {c.id for c in small.leaves()} == {3237, 3, 212, 3994}


def test_unknown_category(small: Taxonomy) -> None:
    with pytest.raises(UnknownCategory) as excinfo:
        small.get(999)
    assert isinstance(excinfo.value, KeyError)
    assert "999" in str(excinfo.value)
    with pytest.raises(UnknownCategory):
        small.children(999)
    with pytest.raises(UnknownCategory):
        small.ancestors(999)
    assert 999 not in small
    assert 212 in small


def test_by_path_is_case_and_whitespace_tolerant(small: Taxonomy) -> None:
    found = small.by_path("  apparel & accessories>CLOTHING   >  shirts &  tops ")
    assert found is not None and found.id == 212
    assert small.by_path("Apparel & Accessories > Clothing > Piñatas") == small.get(3994)
    assert small.by_path("Apparel & Accessories > Shirts & Tops") is None
    assert small.by_path("Clothing") is None
    assert small.by_path("") is None


def test_search_ranks_shallow_then_prefix_then_name(small: Taxonomy) -> None:
    assert [c.id for c in small.search("supplies")] == [1, 2, 3]
    assert [c.id for c in small.search("A")] == [1, 166, 3237, 3994]
    assert [c.id for c in small.search("a", limit=2)] == [1, 166]
    assert [c.id for c in small.search("  PIÑATA ")] == [3994]
    assert small.search("") == []
    assert small.search("zzz") == []


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("1 - A\nnot a category line\n", 2, "expected"),
        ("# header\n1 - A\n2 A > B\n", 3, "expected"),
        ("1 - A\nx2 - A > B\n", 2, "expected"),
        ("1 - A\n2 - A >  > B\n", 2, "empty name"),
        ("1 - A\n2 - A > B\n2 - A > C\n", 3, "duplicate category id 2"),
        ("1 - A\n2 - A > B\n3 - a >b\n", 3, "duplicate category path"),
        ("1 - A\n2 - A > B\n\n4 - A > C > D\n", 4, "parent category 'A > C'"),
    ],
)
def test_malformed_lines_raise_with_line_number(text: str, line: int, fragment: str) -> None:
    with pytest.raises(TaxonomyParseError) as excinfo:
        Taxonomy.parse(text)
    assert excinfo.value.line == line
    assert f"line {line}:" in str(excinfo.value)
    assert fragment in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_parse_without_header_or_trailing_newline() -> None:
    taxonomy = Taxonomy.parse("\ufeff5 - Root\n6 - Root > Leaf")
    assert taxonomy.version is None
    assert taxonomy.get(6).parent_id == 5


# -- the packaged Google taxonomy -----------------------------------------------------------


def test_packaged_file_is_the_documented_artifact() -> None:
    data = resources.files("shopreel.catalog").joinpath("data/google_product_taxonomy.txt")
    raw = data.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SHIPPED_SHA256
    assert raw.endswith(b"\n") and not raw.endswith(b"\n\n")
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
    source_md = resources.files("shopreel.catalog").joinpath("data/SOURCE.md").read_text("utf-8")
    assert SHIPPED_SHA256 in source_md


def test_load_is_cached(google: Taxonomy) -> None:
    assert Taxonomy.load() is google
    assert default_taxonomy() is google


def test_google_size_and_version(google: Taxonomy) -> None:
    assert google.version == "2021-09-21"
    assert len(google) == 5595
    assert len(google.roots()) == 21
    assert google.get(1).breadcrumb == "Animals & Pet Supplies"
    tees = google.by_path("Apparel & Accessories > Clothing > Shirts & Tops")
    assert tees is not None and tees.id == 212


def test_mojibake_repaired(google: Taxonomy) -> None:
    assert google.get(3994).name == "Piñatas"
    assert google.get(6100).name == "Corsage & Boutonnière Pins"
    for category_id, name in REPAIRED.items():
        assert google.get(category_id).name == name
    broken = [c.breadcrumb for c in google if MOJIBAKE.search(c.breadcrumb)]
    assert broken == []
    cyrillic = [c.breadcrumb for c in google if re.search("[\u0400-\u04ff]", c.breadcrumb)]
    assert cyrillic == []


def test_parent_relations_consistent(google: Taxonomy) -> None:
    for category in google:
        assert category.name == category.path[-1]
        if category.parent_id is None:
            assert category.level == 1
            assert category in google.roots()
        else:
            parent = google.get(category.parent_id)
            assert parent.path == category.path[:-1]
            assert category in google.children(parent.id)
            assert [a.path for a in google.ancestors(category.id)] == [
                category.path[:i] for i in range(1, category.level)
            ]


def test_by_path_round_trips(google: Taxonomy) -> None:
    for category in google:
        assert google.by_path(category.breadcrumb) is category
        assert google.by_path(category.breadcrumb.upper().replace(" > ", ">")) is category


def test_search_real(google: Taxonomy) -> None:
    hits = google.search("shirt")
    assert hits and all("shirt" in c.name.casefold() for c in hits)
    levels = [c.level for c in hits]
    assert levels == sorted(levels)
    assert google.search("pan", limit=5)[0].level <= 3
    assert len(google.search("a")) == 20
