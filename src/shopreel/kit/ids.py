"""Identifiers.

Ids are ``<prefix>_<region>_<26 chars>`` for regional rows, so any id routes itself to
its home region without a global directory of users; global rows use ``<prefix>_<26 chars>``.
The random part is time-ordered (48-bit millisecond time + 80 random bits, Crockford
base32) so ids sort by creation time and index well.
"""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_REGIONAL = re.compile(r"^([a-z]+)_([a-z][a-z0-9]{0,15})_([0-9a-z]{26})$")


def _time_ordered() -> str:
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, region: str | None = None) -> str:
    if region is None:
        return f"{prefix}_{_time_ordered()}"
    return f"{prefix}_{region}_{_time_ordered()}"


def region_of(identifier: str) -> str | None:
    """The home region embedded in a regional id, or None for a global id."""
    match = _REGIONAL.match(identifier)
    return match.group(2) if match else None


def new_token(nbytes: int = 32) -> str:
    """An opaque URL-safe secret (default 256 bits)."""
    return secrets.token_urlsafe(nbytes)
