"""Variant option identity: a product's variants differ by their option values."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def normalize_option_value(value: str) -> str:
    """Whitespace collapsed and case folded: "Navy  Blue" and "navy blue" are one value."""
    return " ".join(value.split()).casefold()


def options_key(values: Sequence[str]) -> str:
    """SHA-256 hex of the normalized option values, in axis order (``variants.options_key``,
    unique per product). The default variant of a product without options has ``()``."""
    normal = [normalize_option_value(value) for value in values]
    return hashlib.sha256("\x1f".join(normal).encode()).hexdigest()
