"""RFC 6962 / RFC 9162 Merkle tree (SHA-256) and Ed25519-signed tree heads.

Hashing (RFC 6962 section 2.1)::

    leaf_hash(d)    = SHA-256(0x00 || d)
    node_hash(l, r) = SHA-256(0x01 || l || r)
    MTH({})         = SHA-256("")                                   (EMPTY_ROOT)
    MTH(D[n])       = node_hash(MTH(D[0:k]), MTH(D[k:n]))  for n > 1, where k is the
                      largest power of two smaller than n

Proof generation follows RFC 6962 section 2.1.1 (PATH) and 2.1.2 (SUBPROOF); verification
follows RFC 9162 sections 2.1.3.2 and 2.1.4.2. Everything is iterative, so trees of millions
of leaves need no deep recursion.

Signed tree head serialisation (49 bytes, big-endian), the exact bytes that are signed::

    0x01 (version) || uint64 tree_size || uint64 timestamp_ms || root_hash (32 bytes)

Generators (``inclusion_proof``, ``consistency_proof``) raise :class:`ValueError` for
arguments out of range; verifiers (``verify_*``) never raise for bad proofs or sizes, they
return ``False``.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "TREE_HEAD_SIZE",
    "TREE_HEAD_VERSION",
    "MerkleAccumulator",
    "TreeHead",
    "consistency_proof",
    "find_first_divergence",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "sign_tree_head",
    "tree_head_bytes",
    "tree_head_from_bytes",
    "verify_consistency",
    "verify_inclusion",
    "verify_tree_head",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
TREE_HEAD_VERSION: Final = 0x01
_TREE_HEAD_STRUCT: Final = struct.Struct(">BQQ32s")
TREE_HEAD_SIZE: Final = _TREE_HEAD_STRUCT.size
_UINT64_MAX: Final = 2**64 - 1
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be a {HASH_SIZE}-byte SHA-256 hash")


def _largest_power_of_two_below(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


class MerkleAccumulator:
    """Streaming RFC 6962 tree builder (a "compact range" starting at leaf 0).

    Keeps only the roots of the perfect subtrees that make up the current tree (one per set
    bit of the size), i.e. O(log n) memory; appending is amortised O(1) hashes and
    :meth:`root` costs O(log n). Use it to verify a whole log in one pass::

        acc = MerkleAccumulator()
        for entry in read_entries():
            acc.append_data(entry)
        assert acc.size == head.tree_size and acc.root() == head.root_hash
    """

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        self._peaks: list[bytes] = []  # perfect-subtree roots, largest (leftmost) first
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def peaks(self) -> tuple[bytes, ...]:
        """Roots of the perfect subtrees covering the tree, left to right."""
        return tuple(self._peaks)

    def append(self, leaf_hash_: bytes) -> None:
        """Append one leaf *hash* (see :func:`leaf_hash`)."""
        _check_hash(leaf_hash_, "leaf hash")
        merged = bytes(leaf_hash_)
        size = self._size
        while size & 1:
            merged = node_hash(self._peaks.pop(), merged)
            size >>= 1
        self._peaks.append(merged)
        self._size += 1

    def append_data(self, data: bytes) -> None:
        """Append one leaf given as raw entry bytes."""
        self.append(leaf_hash(data))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for value in leaf_hashes:
            self.append(value)

    def root(self) -> bytes:
        """Current RFC 6962 Merkle tree hash (``EMPTY_ROOT`` for an empty tree)."""
        if not self._peaks:
            return EMPTY_ROOT
        result = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            result = node_hash(peak, result)
        return result


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash of the given leaf hashes, in O(n) time, no recursion.

    Pairs nodes level by level; an unpaired last node is promoted unchanged to the next
    level, which yields exactly the MTH of RFC 6962 (split at the largest power of two).
    """
    level = list(hashes)
    if not level:
        return EMPTY_ROOT
    for index, value in enumerate(level):
        if not _is_hash(value):
            raise ValueError(f"leaf hash at index {index} is not a {HASH_SIZE}-byte hash")
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [
            sha256(_NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return bytes(level[0])


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of all ``leaf_hashes`` (RFC 6962 PATH).

    Ordered from the leaf's sibling up to the child of the root. Raises :class:`ValueError`
    if ``index`` is not in ``[0, len(leaf_hashes))``.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} out of range for tree size {size}")
    # Walk down from the root; each split contributes the sibling subtree's hash, which sits
    # *higher* in the path than everything found further down.
    siblings_top_down: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if m < k:
            siblings_top_down.append(root_from_leaf_hashes(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            siblings_top_down.append(root_from_leaf_hashes(leaf_hashes[lo : lo + k]))
            lo, m = lo + k, m - k
    siblings_top_down.reverse()
    return siblings_top_down


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Verify an inclusion proof (RFC 9162 section 2.1.3.2). Never raises for bad input."""
    if not (_is_hash(leaf_hash) and _is_hash(root)):
        return False
    if not (isinstance(index, int) and isinstance(tree_size, int)):
        return False
    if index < 0 or index >= tree_size:
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, bytes(root))


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Consistency proof from the first ``old_size`` leaves to all of ``leaf_hashes``.

    RFC 6962 section 2.1.2 (SUBPROOF). Returns ``[]`` when ``old_size`` is 0 or equals the
    new size (nothing to prove). Raises :class:`ValueError` unless
    ``0 <= old_size <= len(leaf_hashes)``.
    """
    new_size = len(leaf_hashes)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} out of range for tree size {new_size}")
    if old_size in (0, new_size):
        return []
    # SUBPROOF(m, D[lo:hi], b): each split appends one hash *after* the recursive part, so
    # collect them top-down and emit them in reverse after the base case.
    appended_top_down: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            appended_top_down.append(root_from_leaf_hashes(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            appended_top_down.append(root_from_leaf_hashes(leaf_hashes[lo : lo + k]))
            lo, m, complete = lo + k, m - k, False
    proof = [] if complete else [root_from_leaf_hashes(leaf_hashes[lo:hi])]
    proof.extend(reversed(appended_top_down))
    return proof


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Verify a consistency proof (RFC 9162 section 2.1.4.2). Never raises for bad input.

    Edge cases: ``old_size == new_size`` is consistent iff the proof is empty and the roots
    are equal; ``old_size == 0`` is consistent iff the proof is empty and ``old_root`` is
    ``EMPTY_ROOT`` (the empty tree is a prefix of every tree).
    """
    if not (isinstance(old_size, int) and isinstance(new_size, int)):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return len(proof) == 0 and hmac.compare_digest(bytes(old_root), bytes(new_root))
    if old_size == 0:
        return len(proof) == 0 and hmac.compare_digest(bytes(old_root), EMPTY_ROOT)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is a perfect subtree: its root is implied
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = bytes(path[0])
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return (
        sn == 0
        and hmac.compare_digest(fr, bytes(old_root))
        and hmac.compare_digest(sr, bytes(new_root))
    )


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A tree head: the log had ``tree_size`` entries with root ``root_hash`` at a time."""

    tree_size: int
    timestamp_ms: int
    root_hash: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.tree_size <= _UINT64_MAX:
            raise ValueError("tree_size must fit in an unsigned 64-bit integer")
        if not 0 <= self.timestamp_ms <= _UINT64_MAX:
            raise ValueError("timestamp_ms must fit in an unsigned 64-bit integer")
        _check_hash(self.root_hash, "root_hash")


def tree_head_bytes(head: TreeHead) -> bytes:
    """The signed serialisation: 0x01 || u64 tree_size || u64 timestamp_ms || root (BE)."""
    return _TREE_HEAD_STRUCT.pack(
        TREE_HEAD_VERSION, head.tree_size, head.timestamp_ms, bytes(head.root_hash)
    )


def tree_head_from_bytes(data: bytes) -> TreeHead:
    """Parse :func:`tree_head_bytes` output; raise :class:`ValueError` if malformed."""
    if len(data) != TREE_HEAD_SIZE:
        raise ValueError(f"tree head must be {TREE_HEAD_SIZE} bytes, got {len(data)}")
    version, tree_size, timestamp_ms, root = _TREE_HEAD_STRUCT.unpack(data)
    if version != TREE_HEAD_VERSION:
        raise ValueError(f"unknown tree head version {version:#04x}")
    return TreeHead(tree_size=tree_size, timestamp_ms=timestamp_ms, root_hash=root)


def sign_tree_head(private_key: Ed25519PrivateKey, head: TreeHead) -> bytes:
    """Ed25519 signature (64 bytes) over :func:`tree_head_bytes`."""
    return private_key.sign(tree_head_bytes(head))


def verify_tree_head(public_key: Ed25519PublicKey, head: TreeHead, signature: bytes) -> bool:
    """True iff ``signature`` is a valid Ed25519 signature of ``head`` by ``public_key``."""
    try:
        public_key.verify(bytes(signature), tree_head_bytes(head))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def find_first_divergence(
    stored_leaf_data: Sequence[bytes], stored_leaf_hashes: Sequence[bytes]
) -> int | None:
    """First index whose recomputed leaf hash differs from the stored leaf hash.

    If one sequence is a strict prefix of the other (entries deleted from the end, or
    appended without a hash), the length of the shorter one is returned. ``None`` means the
    entries and the hashes agree completely.
    """
    for index, (data, stored) in enumerate(zip(stored_leaf_data, stored_leaf_hashes, strict=False)):
        if not hmac.compare_digest(leaf_hash(data), bytes(stored)):
            return index
    if len(stored_leaf_data) != len(stored_leaf_hashes):
        return min(len(stored_leaf_data), len(stored_leaf_hashes))
    return None
