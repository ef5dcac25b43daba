"""The key scheme: content-addressed, grouped by owner.

``<kind>/<owner id>/<sha256>.<ext>`` holds a processed original and
``<kind>/<owner id>/<sha256>-<size>.webp`` its thumbnails, where the SHA-256 is that of the
stored original. The same picture uploaded twice by one shop maps to the same keys, and a
key's bytes never change, which is what lets ``/media/{key}`` be cached forever. The owner id
keeps one shop's objects apart from another's, so deleting one shop's image never removes a
file another shop still uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shopreel.media.storage import validate_key

PRODUCT_IMAGES: Final = "products"
SHOP_LOGOS: Final = "logos"
THUMBNAIL_EXTENSION: Final = "webp"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ImageKeys:
    original: str
    thumbnails: dict[str, str]


def image_keys(
    kind: str, owner_id: str, sha256: str, extension: str, thumbnail_names: list[str]
) -> ImageKeys:
    """Keys of an original and its thumbnails; every key is validated."""
    if not _SHA256.match(sha256):
        raise ValueError("sha256 must be 64 lower-case hex digits")
    prefix = f"{kind}/{owner_id}/{sha256}"
    original = validate_key(f"{prefix}.{extension}")
    thumbnails = {
        name: validate_key(f"{prefix}-{name}.{THUMBNAIL_EXTENSION}") for name in thumbnail_names
    }
    return ImageKeys(original=original, thumbnails=thumbnails)


def thumbnail_key(original_key: str, name: str) -> str:
    """The key of the thumbnail ``name`` of a stored original (same folder, same hash)."""
    stem = validate_key(original_key).rsplit(".", 1)[0]
    return validate_key(f"{stem}-{name}.{THUMBNAIL_EXTENSION}")


def etag_for(key: str) -> str:
    """A strong ETag from the key alone: its file name without the extension (the hash, plus
    the thumbnail size for thumbnails). Content-addressed keys make this exact."""
    leaf = validate_key(key).rsplit("/", 1)[-1]
    return '"' + leaf.rsplit(".", 1)[0] + '"'
