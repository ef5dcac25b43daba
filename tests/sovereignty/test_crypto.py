"""Tests for field encryption, blind indexes and FieldCipher."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopreel.sovereignty.crypto import (
    DATA_KEY_SIZE,
    CryptoError,
    DecryptionError,
    FieldCipher,
    InvalidKeyError,
    blind_index,
    decrypt_field,
    decrypt_text,
    encrypt_field,
    new_data_key,
    normalize_email,
)
from shopreel.sovereignty.keys import KeyUnwrapError, LocalKeyProvider

CONTEXT = "users.email:usr_us_123"


def test_new_data_key_is_random_32_bytes() -> None:
    keys = {new_data_key() for _ in range(64)}
    assert len(keys) == 64
    assert all(len(k) == DATA_KEY_SIZE for k in keys)


def test_round_trip_text_and_bytes() -> None:
    key = new_data_key()
    blob = encrypt_field(key, "alice@example.com", context=CONTEXT)
    assert decrypt_text(key, blob, context=CONTEXT) == "alice@example.com"
    assert decrypt_field(key, blob, context=CONTEXT) == b"alice@example.com"

    raw = bytes(range(256))
    assert decrypt_field(key, encrypt_field(key, raw, context=CONTEXT), context=CONTEXT) == raw


def test_blob_format_version_nonce_and_tag() -> None:
    key = new_data_key()
    blob = encrypt_field(key, "x" * 10, context=CONTEXT)
    assert blob[0] == 0x01
    assert len(blob) == 1 + 12 + 10 + 16
    # A fresh nonce per call: equal plaintexts give different ciphertexts.
    assert encrypt_field(key, "x" * 10, context=CONTEXT) != blob


def test_empty_plaintext_round_trips() -> None:
    key = new_data_key()
    blob = encrypt_field(key, "", context=CONTEXT)
    assert decrypt_text(key, blob, context=CONTEXT) == ""


def test_wrong_context_fails() -> None:
    key = new_data_key()
    blob = encrypt_field(key, "alice@example.com", context="users.email:usr_us_123")
    for other in ("users.email:usr_us_124", "users.phone:usr_us_123", "users.email:usr_us_12"):
        with pytest.raises(DecryptionError):
            decrypt_field(key, blob, context=other)


def test_wrong_key_fails() -> None:
    blob = encrypt_field(new_data_key(), "secret", context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt_field(new_data_key(), blob, context=CONTEXT)


def test_every_single_byte_tampering_fails() -> None:
    key = new_data_key()
    blob = encrypt_field(key, "hi", context=CONTEXT)
    for position in range(len(blob)):
        for flip in (0x01, 0x80, 0xFF):
            tampered = bytearray(blob)
            tampered[position] ^= flip
            with pytest.raises(DecryptionError):
                decrypt_field(key, bytes(tampered), context=CONTEXT)


def test_truncated_and_extended_blobs_fail() -> None:
    key = new_data_key()
    blob = encrypt_field(key, "hello", context=CONTEXT)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            decrypt_field(key, blob[:length], context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt_field(key, blob + b"\x00", context=CONTEXT)


@pytest.mark.parametrize("version", [0x00, 0x02, 0xFF])
def test_wrong_version_byte_fails(version: int) -> None:
    key = new_data_key()
    blob = encrypt_field(key, "hello", context=CONTEXT)
    with pytest.raises(DecryptionError, match="version"):
        decrypt_field(key, bytes([version]) + blob[1:], context=CONTEXT)


def test_decryption_error_is_a_crypto_error() -> None:
    assert issubclass(DecryptionError, CryptoError)
    assert issubclass(InvalidKeyError, CryptoError)


def test_bad_arguments() -> None:
    key = new_data_key()
    with pytest.raises(InvalidKeyError):
        encrypt_field(b"short", "x", context=CONTEXT)
    with pytest.raises(ValueError):
        encrypt_field(key, "x", context="")
    with pytest.raises(DecryptionError):
        decrypt_field(b"short", encrypt_field(key, "x", context=CONTEXT), context=CONTEXT)
    with pytest.raises(DecryptionError):
        decrypt_field(key, encrypt_field(key, "x", context=CONTEXT), context="")


def test_decrypt_text_rejects_non_utf8_plaintext() -> None:
    key = new_data_key()
    blob = encrypt_field(key, b"\xff\xfe", context=CONTEXT)
    with pytest.raises(DecryptionError, match="UTF-8"):
        decrypt_text(key, blob, context=CONTEXT)


@settings(max_examples=200, deadline=None, database=None)
@given(value=st.text(), context=st.text(min_size=1))
def test_round_trip_property(value: str, context: str) -> None:
    key = new_data_key()
    blob = encrypt_field(key, value, context=context)
    assert decrypt_text(key, blob, context=context) == value


@settings(max_examples=100, deadline=None, database=None)
@given(value=st.binary(), context=st.text(min_size=1), other=st.text(min_size=1))
def test_other_context_never_decrypts_property(value: bytes, context: str, other: str) -> None:
    key = new_data_key()
    blob = encrypt_field(key, value, context=context)
    if other != context:
        with pytest.raises(DecryptionError):
            decrypt_field(key, blob, context=other)


def test_normalize_email() -> None:
    assert normalize_email("  Alice.Smith@Example.COM \n") == "alice.smith@example.com"


def test_blind_index_is_deterministic_and_keyed() -> None:
    key = bytes(range(32))
    a = blind_index(key, "alice@example.com", purpose="users.email")
    assert a == blind_index(key, "alice@example.com", purpose="users.email")
    assert len(a) == 64
    int(a, 16)  # hex
    assert a != blind_index(key, "bob@example.com", purpose="users.email")
    assert a != blind_index(key, "alice@example.com", purpose="users.phone")
    assert a != blind_index(bytes(32), "alice@example.com", purpose="users.email")


def test_blind_index_purpose_separator_is_unambiguous() -> None:
    key = bytes(range(32))
    # Without the NUL separator, ("users.e", "mail...") and ("users.em", "ail...") would collide.
    assert blind_index(key, "mailx", purpose="users.e") != blind_index(
        key, "ailx", purpose="users.em"
    )
    with pytest.raises(ValueError):
        blind_index(key, "x", purpose="a\x00b")
    with pytest.raises(ValueError):
        blind_index(key, "x", purpose="")
    with pytest.raises(InvalidKeyError):
        blind_index(b"short", "x", purpose="users.email")


def test_blind_index_matches_hmac_definition() -> None:
    import hashlib
    import hmac

    key = bytes(range(32))
    expected = hmac.new(key, b"users.email\x00alice@example.com", hashlib.sha256).hexdigest()
    assert blind_index(key, "alice@example.com", purpose="users.email") == expected


def test_field_cipher_end_to_end(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path / "keys")
    cipher = FieldCipher(provider, "us")
    assert cipher.region == "us"
    data_key, wrapped = cipher.new_wrapped_key()
    assert len(data_key) == 32
    assert cipher.open(wrapped) == data_key

    blob = cipher.encrypt(data_key, "Alice@Example.com", "users.email:usr_us_1")
    assert cipher.decrypt_text(cipher.open(wrapped), blob, "users.email:usr_us_1") == (
        "Alice@Example.com"
    )
    assert cipher.decrypt(data_key, blob, "users.email:usr_us_1") == b"Alice@Example.com"
    with pytest.raises(DecryptionError):
        cipher.decrypt_text(data_key, blob, "users.email:usr_us_2")

    idx = cipher.index(normalize_email("Alice@Example.com"), "users.email")
    assert idx == cipher.index("alice@example.com", "users.email")


def test_field_cipher_blind_index_differs_across_regions(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path / "keys")
    us = FieldCipher(provider, "us")
    eu = FieldCipher(provider, "eu")
    assert us.index("alice@example.com", "users.email") != eu.index(
        "alice@example.com", "users.email"
    )


def test_field_cipher_other_region_cannot_open(tmp_path: Path) -> None:
    provider = LocalKeyProvider(tmp_path / "keys")
    _, wrapped = FieldCipher(provider, "us").new_wrapped_key()
    with pytest.raises(KeyUnwrapError):
        FieldCipher(provider, "eu").open(wrapped)


def test_crypto_shredding_deleting_wrapped_key_loses_data(tmp_path: Path) -> None:
    """Once the wrapped DEK is gone, no key material left in the system opens the field."""
    provider = LocalKeyProvider(tmp_path / "keys")
    cipher = FieldCipher(provider, "us")
    data_key, wrapped = cipher.new_wrapped_key()
    blob = cipher.encrypt(data_key, "alice@example.com", CONTEXT)
    del data_key, wrapped  # "delete the wrapped DEK"
    # Neither the KEK nor the index key nor a fresh DEK can decrypt the ciphertext.
    for candidate in (
        provider._kek("us"),
        provider.blind_index_key("us"),
        cipher.new_wrapped_key()[0],
    ):
        with pytest.raises(DecryptionError):
            cipher.decrypt_text(candidate, blob, CONTEXT)
