"""Tests for the RFC 6962 Merkle tree, proofs and signed tree heads.

Every hard-coded hash below is copied from a published test suite; the source is named in a
comment next to it. Everything else is computed, or checked against a direct, recursive
transcription of the RFC 6962 definitions (``_ref_*`` below).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shopreel.sovereignty.merkle import (
    EMPTY_ROOT,
    TREE_HEAD_SIZE,
    MerkleAccumulator,
    TreeHead,
    consistency_proof,
    find_first_divergence,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    sign_tree_head,
    tree_head_bytes,
    tree_head_from_bytes,
    verify_consistency,
    verify_inclusion,
    verify_tree_head,
)


def h(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string)


# ---------------------------------------------------------------------------------------------
# Published test vectors
#
# [CT-CPP]  google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc
#           (commit 0e901cacd1388fa16f78b184612f6cd16e5ceec1): kInputs, kSHA256EmptyTreeHash,
#           kSHA256Roots, kSHA256Paths, kSHA256Proofs.
# [TRILLIAN] google/trillian, merkle/log_verifier_test.go
#           (commit 166e69e65d8365db09dbfe51af622d988f29aca1): the same leaves, roots,
#           inclusionProofs and consistencyProofs (an independent copy of the CT vectors).
# [CT-PY]   google/certificate-transparency, python/ct/crypto/merkle_test.py
#           (commit 4bfca4952a090a76a0755fb0ddc6d288088b83ed): TreeHasherTest (leaf and node
#           hashes) and MerkleVerifierTest (an audit path taken from a real CT log).
# ---------------------------------------------------------------------------------------------

# [CT-CPP] kInputs / [TRILLIAN] leaves
REFERENCE_LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# [CT-CPP] kSHA256EmptyTreeHash / [TRILLIAN] sha256EmptyTreeHash
PUBLISHED_EMPTY_ROOT = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# [CT-CPP] kSHA256Roots / [TRILLIAN] roots / [CT-PY] test_vector_hashes: MTH of the first
# `size` reference leaves.
PUBLISHED_ROOTS = {
    1: h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    2: h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    3: h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    4: h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    5: h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    6: h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    7: h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    8: h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
}

# [CT-CPP] kSHA256Paths / [TRILLIAN] inclusionProofs. The sources number leaves from 1;
# here (0-based index, tree size) -> audit path.
PUBLISHED_INCLUSION_PROOFS = {
    (0, 8): [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    (5, 8): [
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
    (2, 3): [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    ],
    (1, 5): [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ],
    (0, 1): [],
}

# [CT-CPP] kSHA256Proofs / [TRILLIAN] consistencyProofs / [CT-PY] sha256_proofs:
# (old size, new size) -> consistency proof.
PUBLISHED_CONSISTENCY_PROOFS = {
    (1, 1): [],
    (1, 8): [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    (6, 8): [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ],
    (2, 5): [
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ],
}

# [CT-PY] TreeHasherTest.sha256_leaves: (leaf data, leaf hash)
PUBLISHED_LEAF_HASHES = [
    (h(""), h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")),
    (
        h("101112131415161718191a1b1c1d1e1f"),
        h("3bfb960453ebaebf33727da7a1f4db38acc051d381b6da20d6d4e88f0eabfd7a"),
    ),
]

# [CT-PY] TreeHasherTest.sha256_nodes: (left, right, node hash)
PUBLISHED_NODE_HASHES = [
    (
        h("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        h("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"),
        h("1a378704c17da31e2d05b6d121c2bb2c7d76f6ee6fa8f983e596c2d034963c57"),
    )
]

# [CT-PY] MerkleVerifierTest: an inclusion proof from a production CT log (leaf_hash,
# leaf_index, tree_size, sha256_audit_path, expected_root_hash).
CT_LOG_LEAF_HASH = h("7a395c866d5ecdb0cccb623e011dbc392cd348d1d1d72776174e127a24b09c78")
CT_LOG_LEAF_INDEX = 848049
CT_LOG_TREE_SIZE = 3630887
CT_LOG_ROOT = h("78316a05c9bcf14a3a4548f5b854a9adfcd46a4c034401b3ce7eb7ac2f1d0ecb")
CT_LOG_AUDIT_PATH = [
    h("1a208aeebcd1b39fe2de247ee8db9454e1e93a312d206b87f6ca9cc6ec6f1ddd"),
    h("0a1b78b383f580856f433c01a5741e160d451c185910027f6cc9f828687a40c4"),
    h("3d1745789bc63f2da15850de1c12a5bf46ed81e1cc90f086148b1662e79aab3d"),
    h("9095b61e14d8990acf390905621e62b1714fb8e399fbb71de5510e0aef45affe"),
    h("0a332b91b8fab564e6afd1dd452449e04619b18accc0ff9aa8393cd4928451f2"),
    h("2336f0181d264aed6d8f3a6507ca14a8d3b3c3a23791ac263e845d208c1ee330"),
    h("b4ce56e300590500360c146c6452edbede25d4ed83919278749ee5dbe178e048"),
    h("933f6ddc848ea562e4f9c5cfb5f176941301dad0c6fdb9d1fbbe34fac1be6966"),
    h("b95a6222958a86f74c030be27c44f57dbe313e5e7c7f4ffb98bcbd3a03bb52f2"),
    h("daeeb3ce5923defd0faeb8e0c210b753b85b809445d7d3d3cd537a9aabaa9c45"),
    h("7fadd0a13e9138a2aa6c3fdec4e2275af233b94812784f66bcca9aa8e989f2bc"),
    h("1864e6ba3e32878610546539734fb5eeae2529991f130c575c73a7e25a2a7c56"),
    h("12842d1202b1dc6828a17ab253c02e7ce9409b5192430feba44189f39cc02d66"),
    h("29af64b16fa3053c13d02ac63aa75b23aa468506e44c3a2315edc85d2dc22b11"),
    h("b527b99934a0bd9edd154e449b0502e2c499bba783f3bc3dfe23364b6b532009"),
    h("4584db8ae8e351ace08e01f306378a92bfd43611714814f3d834a2842d69faa8"),
    h("86a9a41573b0d6e4292f01e93243d6cc65b30f06606fc6fa57390e7e90ed580f"),
    h("a88b98fbe84d4c6aae8db9d1605dfac059d9f03fe0fcb0d5dff1295dacba09e6"),
    h("06326dc617a6d1f7021dc536026dbfd5fffc6f7c5531d48ef6ccd1ed1569f2a1"),
    h("f41fe8fdc3a2e4e8345e30216e7ebecffee26ff266eeced208a6c2a3cf08f960"),
    h("40cf5bde8abb76983f3e98ba97aa36240402975674e120f234b3448911090f8d"),
    h("b3222dc8658538079883d980d7fdc2bef9285344ea34338968f736b04aeb387a"),
]


# ---------------------------------------------------------------------------------------------
# Reference implementations: literal, recursive transcriptions of RFC 6962 section 2.1.
# Only used for small trees.
# ---------------------------------------------------------------------------------------------


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _ref_mth(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _split(n)
    return hashlib.sha256(b"\x01" + _ref_mth(leaves[:k]) + _ref_mth(leaves[k:])).digest()


def _ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_ref_path(m, leaves[:k]), _ref_mth(leaves[k:])]
    return [*_ref_path(m - k, leaves[k:]), _ref_mth(leaves[:k])]


def _ref_subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_ref_mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_ref_subproof(m, leaves[:k], complete), _ref_mth(leaves[k:])]
    return [*_ref_subproof(m - k, leaves[k:], False), _ref_mth(leaves[:k])]


def _data(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def _flip(value: bytes, bit: int = 0) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Hashing and roots
# ---------------------------------------------------------------------------------------------


def test_empty_root_matches_published_value() -> None:
    assert EMPTY_ROOT == PUBLISHED_EMPTY_ROOT
    assert root_from_leaf_hashes([]) == PUBLISHED_EMPTY_ROOT
    assert MerkleAccumulator().root() == PUBLISHED_EMPTY_ROOT


@pytest.mark.parametrize(("data", "expected"), PUBLISHED_LEAF_HASHES)
def test_leaf_hash_matches_published_vectors(data: bytes, expected: bytes) -> None:
    assert leaf_hash(data) == expected


@pytest.mark.parametrize(("left", "right", "expected"), PUBLISHED_NODE_HASHES)
def test_node_hash_matches_published_vectors(left: bytes, right: bytes, expected: bytes) -> None:
    assert node_hash(left, right) == expected


@pytest.mark.parametrize("size", sorted(PUBLISHED_ROOTS))
def test_roots_match_published_reference_roots(size: int) -> None:
    hashes = [leaf_hash(d) for d in REFERENCE_LEAVES[:size]]
    assert root_from_leaf_hashes(hashes) == PUBLISHED_ROOTS[size]
    assert _ref_mth(REFERENCE_LEAVES[:size]) == PUBLISHED_ROOTS[size]


def test_accumulator_reproduces_published_roots_incrementally() -> None:
    acc = MerkleAccumulator()
    for size, data in enumerate(REFERENCE_LEAVES, start=1):
        acc.append_data(data)
        assert acc.size == size
        assert acc.root() == PUBLISHED_ROOTS[size]
    assert len(acc.peaks) == 1  # 8 leaves: one perfect subtree


def test_roots_agree_with_reference_for_small_trees() -> None:
    data = _data(130)
    acc = MerkleAccumulator()
    for n in range(131):
        hashes = [leaf_hash(d) for d in data[:n]]
        expected = _ref_mth(data[:n])
        assert root_from_leaf_hashes(hashes) == expected
        assert acc.root() == expected
        assert len(acc.peaks) == bin(n).count("1")
        if n < 130:
            acc.append(leaf_hash(data[n]))


@pytest.mark.slow
def test_root_of_a_million_leaves_is_iterative_and_streaming() -> None:
    n = 1_000_003  # not a power of two: exercises the unbalanced right edge
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    root = root_from_leaf_hashes(hashes)
    acc = MerkleAccumulator()
    acc.extend(hashes)
    assert acc.size == n
    assert len(acc.peaks) == bin(n).count("1")  # O(log n) memory
    assert acc.root() == root


def test_bad_leaf_hashes_rejected() -> None:
    with pytest.raises(ValueError):
        root_from_leaf_hashes([b"\x00" * 31])
    with pytest.raises(ValueError):
        MerkleAccumulator().append(b"short")


# ---------------------------------------------------------------------------------------------
# Inclusion proofs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size"), sorted(PUBLISHED_INCLUSION_PROOFS))
def test_inclusion_proofs_match_published_vectors(index: int, size: int) -> None:
    expected = PUBLISHED_INCLUSION_PROOFS[(index, size)]
    hashes = [leaf_hash(d) for d in REFERENCE_LEAVES[:size]]
    assert inclusion_proof(index, hashes) == expected
    root = PUBLISHED_ROOTS[size]
    assert verify_inclusion(hashes[index], index, size, expected, root)
    # The negative checks of the CT verifier tests.
    assert not verify_inclusion(hashes[index], index - 1, size, expected, root)
    assert not verify_inclusion(hashes[index], index + 1, size, expected, root)
    assert not verify_inclusion(hashes[index], index ^ 2, size, expected, root)
    assert not verify_inclusion(leaf_hash(b"WrongLeaf"), index, size, expected, root)
    assert not verify_inclusion(hashes[index], index, size, expected, EMPTY_ROOT)
    assert not verify_inclusion(hashes[index], index, size, [*expected, root], root)
    assert not verify_inclusion(hashes[index], index, size, [root, *expected], root)
    for j in range(len(expected)):
        wrong = list(expected)
        wrong[j] = EMPTY_ROOT
        assert not verify_inclusion(hashes[index], index, size, wrong, root)
    if expected:
        assert not verify_inclusion(hashes[index], index, size, expected[:-1], root)


def test_inclusion_proof_from_a_real_ct_log_verifies() -> None:
    args = (CT_LOG_LEAF_HASH, CT_LOG_LEAF_INDEX, CT_LOG_TREE_SIZE, CT_LOG_AUDIT_PATH)
    assert verify_inclusion(*args, CT_LOG_ROOT)
    assert not verify_inclusion(*args, b"\x00" * 32)
    assert not verify_inclusion(*args, _flip(CT_LOG_ROOT, 255))
    assert not verify_inclusion(
        CT_LOG_LEAF_HASH, CT_LOG_LEAF_INDEX + 1, CT_LOG_TREE_SIZE, CT_LOG_AUDIT_PATH, CT_LOG_ROOT
    )
    assert not verify_inclusion(
        CT_LOG_LEAF_HASH, CT_LOG_LEAF_INDEX, CT_LOG_TREE_SIZE, CT_LOG_AUDIT_PATH[:-1], CT_LOG_ROOT
    )


def test_inclusion_every_index_of_every_tree_up_to_64() -> None:
    data = _data(64)
    for size in range(1, 65):
        hashes = [leaf_hash(d) for d in data[:size]]
        root = root_from_leaf_hashes(hashes)
        other_root = root_from_leaf_hashes([*hashes[:-1], leaf_hash(b"other")])
        for index in range(size):
            proof = inclusion_proof(index, hashes)
            assert proof == _ref_path(index, data[:size])
            assert verify_inclusion(hashes[index], index, size, proof, root)
            # wrong leaf
            assert not verify_inclusion(leaf_hash(b"not in the log"), index, size, proof, root)
            # wrong index (every other position, and just outside the tree)
            for other in range(-1, size + 1):
                if other != index:
                    assert not verify_inclusion(hashes[index], other, size, proof, root)
            # wrong root
            assert not verify_inclusion(hashes[index], index, size, proof, other_root)
            assert not verify_inclusion(hashes[index], index, size, proof, _flip(root, index))
            # tampered proof
            for j in range(len(proof)):
                tampered = list(proof)
                tampered[j] = _flip(proof[j], 7)
                assert not verify_inclusion(hashes[index], index, size, tampered, root)
            assert not verify_inclusion(hashes[index], index, size, [*proof, root], root)
            if proof:
                assert not verify_inclusion(hashes[index], index, size, proof[:-1], root)


def test_inclusion_proof_arguments() -> None:
    hashes = [leaf_hash(d) for d in _data(5)]
    for bad in (-1, 5, 6):
        with pytest.raises(ValueError):
            inclusion_proof(bad, hashes)
    with pytest.raises(ValueError):
        inclusion_proof(0, [])
    root = root_from_leaf_hashes(hashes)
    proof = inclusion_proof(0, hashes)
    assert not verify_inclusion(hashes[0], 0, 0, proof, root)
    assert not verify_inclusion(hashes[0], -1, 5, proof, root)
    assert not verify_inclusion(hashes[0], 0, 5, [*proof[:-1], b"short"], root)
    assert not verify_inclusion(b"short", 0, 5, proof, root)
    assert verify_inclusion(hashes[0], 0, 1, [], hashes[0])


# ---------------------------------------------------------------------------------------------
# Consistency proofs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), sorted(PUBLISHED_CONSISTENCY_PROOFS))
def test_consistency_proofs_match_published_vectors(old: int, new: int) -> None:
    expected = PUBLISHED_CONSISTENCY_PROOFS[(old, new)]
    hashes = [leaf_hash(d) for d in REFERENCE_LEAVES[:new]]
    assert consistency_proof(old, hashes) == expected
    old_root, new_root = PUBLISHED_ROOTS[old], PUBLISHED_ROOTS[new]
    assert verify_consistency(old, new, old_root, new_root, expected)
    if expected:
        assert not verify_consistency(old, new, new_root, old_root, expected)
        assert not verify_consistency(old, new, old_root, new_root, [])
        assert not verify_consistency(old, new, old_root, new_root, expected[:-1])
        assert not verify_consistency(old, new, old_root, new_root, [*expected, expected[-1]])
        assert not verify_consistency(old, new, old_root, new_root, [expected[0], *expected])
        assert not verify_consistency(old, new, old_root, _flip(new_root), expected)
        assert not verify_consistency(old, new, _flip(old_root), new_root, expected)


def test_consistency_every_pair_up_to_40() -> None:
    data = _data(40)
    hashes = [leaf_hash(d) for d in data]
    roots = [root_from_leaf_hashes(hashes[:n]) for n in range(41)]
    for new in range(1, 41):
        for old in range(1, new + 1):
            proof = consistency_proof(old, hashes[:new])
            assert proof == _ref_subproof(old, data[:new], True)
            assert verify_consistency(old, new, roots[old], roots[new], proof)
            if old == new:
                assert proof == []
                assert not verify_consistency(old, new, roots[old], roots[old - 1], proof)
                assert not verify_consistency(old, new, roots[old], roots[old], [roots[old]])
                continue
            # wrong roots
            assert not verify_consistency(old, new, _flip(roots[old]), roots[new], proof)
            assert not verify_consistency(old, new, roots[old], _flip(roots[new]), proof)
            assert not verify_consistency(old, new, roots[new], roots[old], proof)
            # wrong sizes
            for other_old in (old - 1, old + 1):
                if 1 <= other_old < new:
                    assert not verify_consistency(other_old, new, roots[old], roots[new], proof)
            # tampered proofs: every element, dropped/added elements, empty
            for j in range(len(proof)):
                for bit in (0, 255):
                    tampered = list(proof)
                    tampered[j] = _flip(proof[j], bit)
                    assert not verify_consistency(old, new, roots[old], roots[new], tampered)
            assert not verify_consistency(old, new, roots[old], roots[new], [])
            assert not verify_consistency(old, new, roots[old], roots[new], proof[:-1])
            assert not verify_consistency(old, new, roots[old], roots[new], proof[1:])
            assert not verify_consistency(old, new, roots[old], roots[new], [*proof, proof[-1]])
            # a history rewrite inside the old tree is not consistent
            rewritten = [*hashes[: old - 1], leaf_hash(b"rewritten"), *hashes[old:new]]
            assert not verify_consistency(
                old, new, roots[old], root_from_leaf_hashes(rewritten), proof
            )


def test_consistency_edge_cases() -> None:
    hashes = [leaf_hash(d) for d in _data(7)]
    root7 = root_from_leaf_hashes(hashes)
    assert consistency_proof(0, hashes) == []
    assert consistency_proof(7, hashes) == []
    for bad in (-1, 8):
        with pytest.raises(ValueError):
            consistency_proof(bad, hashes)
    # the empty tree is a prefix of every tree
    assert verify_consistency(0, 7, EMPTY_ROOT, root7, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 7, root7, root7, [])
    assert not verify_consistency(0, 7, EMPTY_ROOT, root7, [root7])
    # sizes going backwards or negative
    assert not verify_consistency(7, 3, root7, root7, [])
    assert not verify_consistency(-1, 7, EMPTY_ROOT, root7, [])
    # malformed hashes
    proof = consistency_proof(3, hashes)
    root3 = root_from_leaf_hashes(hashes[:3])
    assert verify_consistency(3, 7, root3, root7, proof)
    assert not verify_consistency(3, 7, root3, root7, [*proof[:-1], b"x"])
    assert not verify_consistency(3, 7, b"short", root7, proof)


# ---------------------------------------------------------------------------------------------
# Signed tree heads
# ---------------------------------------------------------------------------------------------


def test_tree_head_serialization_layout() -> None:
    head = TreeHead(tree_size=0x0102, timestamp_ms=0x0A0B0C, root_hash=b"\xaa" * 32)
    raw = tree_head_bytes(head)
    assert TREE_HEAD_SIZE == len(raw) == 1 + 8 + 8 + 32
    assert raw == (
        b"\x01"
        + b"\x00\x00\x00\x00\x00\x00\x01\x02"
        + b"\x00\x00\x00\x00\x00\x0a\x0b\x0c"
        + b"\xaa" * 32
    )
    assert tree_head_from_bytes(raw) == head
    with pytest.raises(ValueError):
        tree_head_from_bytes(b"\x02" + raw[1:])
    with pytest.raises(ValueError):
        tree_head_from_bytes(raw[:-1])


def test_tree_head_validation() -> None:
    with pytest.raises(ValueError):
        TreeHead(-1, 0, EMPTY_ROOT)
    with pytest.raises(ValueError):
        TreeHead(2**64, 0, EMPTY_ROOT)
    with pytest.raises(ValueError):
        TreeHead(0, -1, EMPTY_ROOT)
    with pytest.raises(ValueError):
        TreeHead(0, 0, b"short")
    TreeHead(2**64 - 1, 2**64 - 1, EMPTY_ROOT)


def test_signed_tree_head_round_trip_and_every_bit_flip_fails() -> None:
    key = Ed25519PrivateKey.generate()
    public_key = key.public_key()
    head = TreeHead(tree_size=8, timestamp_ms=1_700_000_000_000, root_hash=PUBLISHED_ROOTS[8])
    signature = sign_tree_head(key, head)
    assert len(signature) == 64
    assert verify_tree_head(public_key, head, signature)

    for bit in range(len(signature) * 8):
        assert not verify_tree_head(public_key, head, _flip(signature, bit))

    raw = tree_head_bytes(head)
    for bit in range(len(raw) * 8):
        try:
            altered = tree_head_from_bytes(_flip(raw, bit))
        except ValueError:
            continue  # the version byte: not even a parseable head
        assert not verify_tree_head(public_key, altered, signature)

    assert not verify_tree_head(Ed25519PrivateKey.generate().public_key(), head, signature)
    assert not verify_tree_head(public_key, head, signature[:-1])
    assert not verify_tree_head(public_key, head, b"")


# ---------------------------------------------------------------------------------------------
# Tamper detection on a 1,000-entry log
# ---------------------------------------------------------------------------------------------

LOG_SIZE = 1000


class SignedLog:
    def __init__(self) -> None:
        self.entries = [
            f'{{"seq":{i},"kind":"pii.read","actor":"usr_{i * 7 % 13}"}}'.encode()
            for i in range(LOG_SIZE)
        ]
        self.hashes = [leaf_hash(e) for e in self.entries]
        key = Ed25519PrivateKey.generate()
        self.public_key = key.public_key()
        self.head = TreeHead(LOG_SIZE, 1_700_000_000_000, root_from_leaf_hashes(self.hashes))
        self.signature = sign_tree_head(key, self.head)

    def matches_head(self, entries: Sequence[bytes]) -> bool:
        """What an auditor does: check the STH signature, recompute the root, compare."""
        if not verify_tree_head(self.public_key, self.head, self.signature):
            return False
        return len(entries) == self.head.tree_size and (
            root_from_leaf_hashes([leaf_hash(e) for e in entries]) == self.head.root_hash
        )


@pytest.fixture(scope="module")
def signed_log() -> SignedLog:
    return SignedLog()


def test_untampered_log_matches_signed_head(signed_log: SignedLog) -> None:
    assert signed_log.matches_head(signed_log.entries)
    assert find_first_divergence(signed_log.entries, signed_log.hashes) is None
    acc = MerkleAccumulator()  # one streaming pass, O(log n) memory
    for entry in signed_log.entries:
        acc.append_data(entry)
    assert (acc.size, acc.root()) == (signed_log.head.tree_size, signed_log.head.root_hash)


def test_editing_any_entry_is_detected(signed_log: SignedLog) -> None:
    for i in range(LOG_SIZE):
        tampered = list(signed_log.entries)
        tampered[i] = tampered[i].replace(b"pii.read", b"pii.redd")
        assert not signed_log.matches_head(tampered)
        assert find_first_divergence(tampered, signed_log.hashes) == i


def test_deleting_any_entry_is_detected(signed_log: SignedLog) -> None:
    for i in range(LOG_SIZE):
        tampered = signed_log.entries[:i] + signed_log.entries[i + 1 :]
        assert not signed_log.matches_head(tampered)
        assert find_first_divergence(tampered, signed_log.hashes) == i


def test_swapping_any_adjacent_entries_is_detected(signed_log: SignedLog) -> None:
    for i in range(LOG_SIZE - 1):
        tampered = list(signed_log.entries)
        tampered[i], tampered[i + 1] = tampered[i + 1], tampered[i]
        assert not signed_log.matches_head(tampered)
        assert find_first_divergence(tampered, signed_log.hashes) == i


def test_truncating_at_any_length_is_detected(signed_log: SignedLog) -> None:
    acc = MerkleAccumulator()
    for length in range(LOG_SIZE):
        # No prefix of the log has the signed root, so a truncated log cannot pass as the
        # signed one (and its size differs from the signed tree_size anyway).
        assert acc.root() != signed_log.head.root_hash
        tampered = signed_log.entries[:length]
        assert find_first_divergence(tampered, signed_log.hashes) == length
        acc.append(signed_log.hashes[length])
    assert not signed_log.matches_head(signed_log.entries[: LOG_SIZE - 1])
    assert not signed_log.matches_head([])


def test_rewriting_entries_and_stored_hashes_together_is_caught_by_the_signed_head(
    signed_log: SignedLog,
) -> None:
    tampered = list(signed_log.entries)
    tampered[500] = b'{"seq":500,"kind":"nothing to see"}'
    rewritten_hashes = [leaf_hash(e) for e in tampered]
    assert find_first_divergence(tampered, rewritten_hashes) is None  # locally consistent...
    assert not signed_log.matches_head(tampered)  # ...but not what was signed


def test_find_first_divergence_basics() -> None:
    data = _data(5)
    hashes = [leaf_hash(d) for d in data]
    assert find_first_divergence(data, hashes) is None
    assert find_first_divergence([], []) is None
    assert find_first_divergence(data, hashes[:3]) == 3
    assert find_first_divergence(data[:2], hashes) == 2
    assert find_first_divergence(data, [*hashes[:4], b"bad"]) == 4
