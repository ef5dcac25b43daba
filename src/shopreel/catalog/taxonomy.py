"""Google product taxonomy: parsing, lookup and search.

The packaged file ``data/google_product_taxonomy.txt`` is Google's public product taxonomy
(version 2021-09-21, see ``data/SOURCE.md``). Its first line is a version comment and every
following line is ``<id> - <Level 1> > <Level 2> > ...``.

Use :func:`default_taxonomy` (or :meth:`Taxonomy.load`) for the packaged, cached instance and
:meth:`Taxonomy.parse` for any other text in the same format.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "Category",
    "Taxonomy",
    "TaxonomyParseError",
    "UnknownCategory",
    "default_taxonomy",
]

DATA_PACKAGE = "shopreel.catalog"
DATA_FILE = "data/google_product_taxonomy.txt"
PATH_SEPARATOR = " > "

_LINE_RE = re.compile(r"^\s*(\d+)\s+-\s+(\S.*?)\s*$")
_VERSION_RE = re.compile(r"^#\s*Google_Product_Taxonomy_Version:\s*(\S+)\s*$")


class UnknownCategory(KeyError):
    """Raised when a category id is not part of the taxonomy."""

    def __init__(self, category_id: int) -> None:
        super().__init__(category_id)
        self.category_id = category_id

    def __str__(self) -> str:
        return f"unknown product category id {self.category_id}"


class TaxonomyParseError(ValueError):
    """Raised for malformed taxonomy text; ``line`` is the 1-based line number."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True, slots=True)
class Category:
    """One taxonomy node. ``path`` runs from the root to this category (inclusive)."""

    id: int
    name: str
    path: tuple[str, ...]
    parent_id: int | None

    @property
    def breadcrumb(self) -> str:
        return PATH_SEPARATOR.join(self.path)

    @property
    def level(self) -> int:
        """Depth of the category: 1 for roots."""
        return len(self.path)


def _normalize_path(path: str | Iterable[str]) -> tuple[str, ...]:
    """Split a breadcrumb on ">" and normalise each part for case-insensitive lookup."""
    parts = path.split(">") if isinstance(path, str) else list(path)
    return tuple(" ".join(part.split()).casefold() for part in parts)


class Taxonomy:
    """An immutable category tree with lookups by id and by breadcrumb path."""

    __slots__ = ("_by_id", "_by_key", "_children", "_roots", "_version")

    def __init__(self, categories: Iterable[Category], version: str | None = None) -> None:
        by_id: dict[int, Category] = {}
        by_key: dict[tuple[str, ...], Category] = {}
        children: dict[int, list[Category]] = {}
        roots: list[Category] = []
        for category in categories:
            if category.id in by_id:
                raise ValueError(f"duplicate category id {category.id}")
            key = _normalize_path(category.path)
            if key in by_key:
                raise ValueError(f"duplicate category path {category.breadcrumb!r}")
            by_id[category.id] = category
            by_key[key] = category
        for category in by_id.values():
            if category.parent_id is None:
                roots.append(category)
            else:
                parent = by_id.get(category.parent_id)
                if parent is None or parent.path != category.path[:-1]:
                    raise ValueError(
                        f"category {category.id} has an inconsistent parent {category.parent_id}"
                    )
                children.setdefault(parent.id, []).append(category)
        self._by_id = by_id
        self._by_key = by_key
        self._children = {key: tuple(value) for key, value in children.items()}
        self._roots = tuple(roots)
        self._version = version

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def load(cls) -> Taxonomy:
        """The packaged Google taxonomy (parsed once per process)."""
        return default_taxonomy()

    @classmethod
    def parse(cls, text: str) -> Taxonomy:
        """Parse taxonomy text; raise :class:`TaxonomyParseError` on the first malformed line.

        Lines starting with ``#`` are comments (the version comment sets :attr:`version`),
        blank lines are ignored. A category's parent must be listed (anywhere in the text).
        """
        version: str | None = None
        rows: list[tuple[int, int, tuple[str, ...]]] = []
        line_of_id: dict[int, int] = {}
        line_of_key: dict[tuple[str, ...], int] = {}
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.lstrip("\ufeff") if lineno == 1 else raw
            if not line.strip():
                continue
            if line.lstrip().startswith("#"):
                match = _VERSION_RE.match(line.strip())
                if match and version is None:
                    version = match.group(1)
                continue
            match = _LINE_RE.match(line)
            if match is None:
                raise TaxonomyParseError(
                    lineno, f"expected '<id> - <Level 1> > <Level 2> ...', got {raw!r}"
                )
            category_id = int(match.group(1))
            path = tuple(" ".join(part.split()) for part in match.group(2).split(">"))
            if any(not part for part in path):
                raise TaxonomyParseError(lineno, f"empty name in category path {raw!r}")
            if category_id in line_of_id:
                first = line_of_id[category_id]
                raise TaxonomyParseError(
                    lineno, f"duplicate category id {category_id} (first on line {first})"
                )
            key = _normalize_path(path)
            if key in line_of_key:
                raise TaxonomyParseError(
                    lineno, f"duplicate category path (first on line {line_of_key[key]})"
                )
            line_of_id[category_id] = lineno
            line_of_key[key] = category_id
            rows.append((lineno, category_id, path))

        categories: list[Category] = []
        for lineno, category_id, path in rows:
            parent_id: int | None = None
            if len(path) > 1:
                parent_id = line_of_key.get(_normalize_path(path[:-1]))
                if parent_id is None:
                    raise TaxonomyParseError(
                        lineno,
                        f"parent category {PATH_SEPARATOR.join(path[:-1])!r} is not listed",
                    )
            categories.append(Category(category_id, path[-1], path, parent_id))
        return cls(categories, version)

    # -- lookups ------------------------------------------------------------------------------

    @property
    def version(self) -> str | None:
        """The taxonomy version from the header line, e.g. ``"2021-09-21"``."""
        return self._version

    def get(self, category_id: int) -> Category:
        try:
            return self._by_id[category_id]
        except KeyError:
            raise UnknownCategory(category_id) from None

    def __contains__(self, category_id: object) -> bool:
        return category_id in self._by_id

    def by_path(self, path: str) -> Category | None:
        """Exact, case-insensitive lookup of a breadcrumb such as ``"Apparel & Accessories >
        Clothing"``; whitespace around ``>`` (and repeated inner whitespace) is ignored."""
        return self._by_key.get(_normalize_path(path))

    def children(self, category_id: int) -> tuple[Category, ...]:
        """Direct children of a category, in file order."""
        self.get(category_id)
        return self._children.get(category_id, ())

    def is_leaf(self, category_id: int) -> bool:
        self.get(category_id)
        return category_id not in self._children

    def leaves(self) -> Iterator[Category]:
        """All categories without children, in file order."""
        return (c for c in self._by_id.values() if c.id not in self._children)

    def roots(self) -> tuple[Category, ...]:
        """Top-level categories, in file order."""
        return self._roots

    def ancestors(self, category_id: int) -> tuple[Category, ...]:
        """Ancestors from the root down to the parent (the category itself is excluded)."""
        chain: list[Category] = []
        parent_id = self.get(category_id).parent_id
        while parent_id is not None:
            parent = self._by_id[parent_id]
            chain.append(parent)
            parent_id = parent.parent_id
        chain.reverse()
        return tuple(chain)

    def root_of(self, category_id: int) -> Category:
        """The top-level category containing ``category_id`` (itself for a root)."""
        category = self.get(category_id)
        while category.parent_id is not None:
            category = self._by_id[category.parent_id]
        return category

    def search(self, text: str, limit: int = 20) -> list[Category]:
        """Case-insensitive substring search on category names.

        Results are ranked by shallower level first, then names starting with the text before
        other matches, then name.
        """
        needle = " ".join(text.split()).casefold()
        if not needle or limit <= 0:
            return []
        hits: list[tuple[int, int, str, int, Category]] = []
        for category in self._by_id.values():
            name = category.name.casefold()
            position = name.find(needle)
            if position < 0:
                continue
            hits.append((category.level, 0 if position == 0 else 1, name, category.id, category))
        hits.sort(key=lambda hit: hit[:4])
        return [hit[4] for hit in hits[:limit]]

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Category]:
        """All categories in file order."""
        return iter(self._by_id.values())

    def __repr__(self) -> str:
        return f"Taxonomy(version={self._version!r}, categories={len(self)})"


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The packaged Google product taxonomy, parsed once and cached."""
    text = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return Taxonomy.parse(text)
