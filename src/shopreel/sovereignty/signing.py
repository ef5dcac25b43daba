"""The deployment's Ed25519 key that signs the audit log's tree heads.

One key per deployment, kept in ``<key_dir>/control/audit-signing.key``: exactly 32 raw
bytes (the RFC 8032 private seed), mode ``0600`` in a directory of mode ``0700``. The file
is created atomically on first use (see :mod:`shopreel.sovereignty.keys`, whose helpers
this module reuses) and refused if its permissions are wider than ``0600``.

The key id published next to every signed tree head is the hex encoding of the first 16
bytes of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shopreel.sovereignty.keys import (
    KeyFileError,
    _create_key_file,
    _ensure_private_dir,
    _read_key_file,
)
from shopreel.sovereignty.merkle import TreeHead, sign_tree_head, verify_tree_head

__all__ = [
    "KEY_ID_BYTES",
    "SIGNING_KEY_DIR",
    "SIGNING_KEY_FILE",
    "KeyFileError",
    "TreeHeadSigner",
    "clear_signer_cache",
    "load_signer",
    "public_key_bytes",
    "public_key_from_bytes",
    "public_key_id",
    "signing_key_path",
]

SIGNING_KEY_DIR: Final = "control"
SIGNING_KEY_FILE: Final = "audit-signing.key"
KEY_ID_BYTES: Final = 16

_cache: dict[Path, TreeHeadSigner] = {}
_cache_lock = threading.Lock()


def public_key_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The raw 32-byte encoding of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    """Parse a raw 32-byte Ed25519 public key; raise :class:`ValueError` if malformed."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != 32:
        raise ValueError("an Ed25519 public key is exactly 32 raw bytes")
    return Ed25519PublicKey.from_public_bytes(bytes(raw))


def public_key_id(public_key: Ed25519PublicKey | bytes) -> str:
    """Hex of the first 16 bytes of SHA-256(raw public key)."""
    raw = public_key if isinstance(public_key, bytes) else public_key_bytes(public_key)
    return hashlib.sha256(raw).digest()[:KEY_ID_BYTES].hex()


@dataclass(frozen=True)
class TreeHeadSigner:
    """Signs tree heads; carries the public half and its key id for publication."""

    private_key: Ed25519PrivateKey = field(repr=False)
    public_key: Ed25519PublicKey = field(repr=False)
    public_key_raw: bytes
    key_id: str

    @classmethod
    def from_seed(cls, seed: bytes) -> TreeHeadSigner:
        """A signer from a 32-byte Ed25519 private seed."""
        if len(seed) != 32:
            raise ValueError("an Ed25519 private seed is exactly 32 bytes")
        private_key = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        public_key = private_key.public_key()
        raw = public_key_bytes(public_key)
        return cls(private_key, public_key, raw, public_key_id(raw))

    def sign(self, head: TreeHead) -> bytes:
        """64-byte Ed25519 signature over the 49-byte tree-head serialisation."""
        return sign_tree_head(self.private_key, head)

    def verify(self, head: TreeHead, signature: bytes) -> bool:
        return verify_tree_head(self.public_key, head, signature)


def signing_key_path(key_dir: Path) -> Path:
    return Path(key_dir) / SIGNING_KEY_DIR / SIGNING_KEY_FILE


def load_signer(key_dir: Path) -> TreeHeadSigner:
    """The deployment's signer; creates the key file on first use (cached per path).

    Raises :class:`KeyFileError` if the file or its directory has unsafe permissions or the
    file does not hold exactly 32 bytes.
    """
    path = signing_key_path(key_dir).absolute()
    cached = _cache.get(path)
    if cached is not None:
        return cached
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None:
            return cached
        path.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _ensure_private_dir(path.parent)
        try:
            seed = _read_key_file(path)
        except FileNotFoundError:
            seed = _create_key_file(path)
        signer = TreeHeadSigner.from_seed(seed)
        _cache[path] = signer
        return signer


def clear_signer_cache() -> None:
    """Forget cached signers (tests that change key files on disk)."""
    with _cache_lock:
        _cache.clear()
