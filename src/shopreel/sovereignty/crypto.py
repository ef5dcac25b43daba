"""Field-level encryption of personal data (AES-256-GCM) and blind indexes.

Every PII field is encrypted under the owning user's 32-byte data key (DEK). The DEK itself
is stored only in wrapped form (see :mod:`shopreel.sovereignty.keys`), so deleting a user's
wrapped DEK makes all of that user's ciphertexts permanently unreadable ("crypto-shredding"),
including copies in backups and replicas.

Field ciphertext format (version 1)::

    0x01 || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)

The GCM associated data is ``b"shopreel/field/v1|" + context.encode("utf-8")``. The context
names where the ciphertext belongs, e.g. ``"users.email:usr_us_123"``; a ciphertext copied to
another row or column therefore fails to decrypt instead of silently revealing data.

Blind indexes allow equality lookups on encrypted columns without decrypting them:
``HMAC-SHA256(index_key, purpose || 0x00 || value)`` in hex, with a per-region index key.
Callers normalise the value first (for e-mail addresses use :func:`normalize_email`), because
the index only matches byte-identical inputs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from shopreel.sovereignty.keys import KeyProvider

__all__ = [
    "DATA_KEY_SIZE",
    "FIELD_FORMAT_VERSION",
    "CryptoError",
    "DecryptionError",
    "FieldCipher",
    "InvalidKeyError",
    "blind_index",
    "decrypt_field",
    "decrypt_text",
    "encrypt_field",
    "new_data_key",
    "normalize_email",
]

DATA_KEY_SIZE: Final = 32
"""Size in bytes of data keys, KEKs and blind-index keys (256 bits)."""

FIELD_FORMAT_VERSION: Final = 0x01
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
_FIELD_AAD_PREFIX: Final = b"shopreel/field/v1|"
_FIELD_OVERHEAD: Final = 1 + NONCE_SIZE + TAG_SIZE


class CryptoError(Exception):
    """Base class of every error raised by :mod:`shopreel.sovereignty`."""


class DecryptionError(CryptoError):
    """A field ciphertext could not be decrypted and authenticated.

    Raised for a wrong key, a wrong context, an unknown format version, a truncated blob or any
    modified byte. No partial plaintext is ever returned.
    """


class InvalidKeyError(CryptoError, ValueError):
    """A key has the wrong type or size."""


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != DATA_KEY_SIZE:
        raise InvalidKeyError(f"{what} must be exactly {DATA_KEY_SIZE} bytes")


def _check_context(context: str) -> None:
    if not isinstance(context, str) or not context:
        raise ValueError("context must be a non-empty string, e.g. 'users.email:usr_us_123'")


def _field_aad(context: str) -> bytes:
    return _FIELD_AAD_PREFIX + context.encode("utf-8")


def new_data_key() -> bytes:
    """Return a fresh random 32-byte data key (DEK) from the OS CSPRNG."""
    return secrets.token_bytes(DATA_KEY_SIZE)


def encrypt_field(data_key: bytes, plaintext: str | bytes, *, context: str) -> bytes:
    """Encrypt one field value under ``data_key``, bound to ``context``.

    ``str`` values are encoded as UTF-8. A random 96-bit nonce is used per call, so encrypting
    the same value twice gives different ciphertexts. Returns the version-1 blob described in
    the module docstring.
    """
    _check_key(data_key, "data key")
    _check_context(context)
    if isinstance(plaintext, str):
        data = plaintext.encode("utf-8")
    elif isinstance(plaintext, bytes | bytearray):
        data = bytes(plaintext)
    else:
        raise TypeError("plaintext must be str or bytes")
    nonce = secrets.token_bytes(NONCE_SIZE)
    sealed = AESGCM(bytes(data_key)).encrypt(nonce, data, _field_aad(context))
    return bytes([FIELD_FORMAT_VERSION]) + nonce + sealed


def decrypt_field(data_key: bytes, blob: bytes, *, context: str) -> bytes:
    """Decrypt and authenticate a blob produced by :func:`encrypt_field`.

    Raises :class:`DecryptionError` on any failure: wrong key, wrong context, unknown version,
    truncation or tampering.
    """
    try:
        _check_key(data_key, "data key")
        _check_context(context)
    except ValueError as exc:
        raise DecryptionError(f"cannot decrypt field: {exc}") from None
    if not isinstance(blob, bytes | bytearray):
        raise DecryptionError("cannot decrypt field: ciphertext must be bytes")
    if len(blob) < _FIELD_OVERHEAD:
        raise DecryptionError("cannot decrypt field: ciphertext is truncated")
    if blob[0] != FIELD_FORMAT_VERSION:
        raise DecryptionError(f"cannot decrypt field: unknown format version {blob[0]:#04x}")
    nonce = bytes(blob[1 : 1 + NONCE_SIZE])
    sealed = bytes(blob[1 + NONCE_SIZE :])
    try:
        return AESGCM(bytes(data_key)).decrypt(nonce, sealed, _field_aad(context))
    except InvalidTag:
        raise DecryptionError(
            "cannot decrypt field: authentication failed "
            "(wrong data key, wrong context, or modified ciphertext)"
        ) from None


def decrypt_text(data_key: bytes, blob: bytes, *, context: str) -> str:
    """Like :func:`decrypt_field` but decode the plaintext as UTF-8."""
    plaintext = decrypt_field(data_key, blob, context=context)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError("cannot decrypt field: plaintext is not valid UTF-8") from None


def normalize_email(value: str) -> str:
    """Normalise an e-mail address before blind-indexing it: strip whitespace, lower-case."""
    return value.strip().lower()


def blind_index(index_key: bytes, value: str, *, purpose: str) -> str:
    """Return a deterministic, keyed index of ``value`` for equality lookups (64 hex chars).

    ``HMAC-SHA256(index_key, purpose.encode() + b"\\x00" + value.encode())``. ``purpose``
    (e.g. ``"users.email"``) separates indexes of different columns so equal values in two
    columns do not produce linkable index values. The caller must normalise ``value``
    (e-mails: :func:`normalize_email`). The index key is per region, so the same value has
    unrelated indexes in different regions.
    """
    _check_key(index_key, "blind index key")
    if not isinstance(purpose, str) or not purpose or "\x00" in purpose:
        raise ValueError("purpose must be a non-empty string without NUL characters")
    if not isinstance(value, str):
        raise TypeError("value must be str")
    message = purpose.encode("utf-8") + b"\x00" + value.encode("utf-8")
    return hmac.new(bytes(index_key), message, hashlib.sha256).hexdigest()


class FieldCipher:
    """Convenience wrapper binding a :class:`KeyProvider` to one region.

    Typical use when creating a user::

        cipher = FieldCipher(provider, "eu")
        data_key, wrapped = cipher.new_wrapped_key()   # store `wrapped` with the user
        email_ct = cipher.encrypt(data_key, email, "users.email:usr_eu_42")
        email_idx = cipher.index(normalize_email(email), "users.email")

    and when reading: ``cipher.decrypt_text(cipher.open(wrapped), email_ct, context)``.
    Deleting the stored wrapped key crypto-shreds every field encrypted under it.
    """

    def __init__(self, provider: KeyProvider, region: str) -> None:
        self._provider = provider
        self._region = region

    @property
    def region(self) -> str:
        return self._region

    def new_wrapped_key(self) -> tuple[bytes, bytes]:
        """Create a new DEK; return ``(data_key, wrapped)``. Persist only ``wrapped``."""
        data_key = new_data_key()
        return data_key, self._provider.wrap_data_key(self._region, data_key)

    def open(self, wrapped: bytes) -> bytes:
        """Unwrap a stored DEK with this region's KEK (raises ``KeyUnwrapError``)."""
        return self._provider.unwrap_data_key(self._region, wrapped)

    def encrypt(self, data_key: bytes, value: str | bytes, context: str) -> bytes:
        return encrypt_field(data_key, value, context=context)

    def decrypt(self, data_key: bytes, blob: bytes, context: str) -> bytes:
        return decrypt_field(data_key, blob, context=context)

    def decrypt_text(self, data_key: bytes, blob: bytes, context: str) -> str:
        return decrypt_text(data_key, blob, context=context)

    def index(self, value: str, purpose: str) -> str:
        """Blind index of an already-normalised ``value`` with this region's index key."""
        return blind_index(self._provider.blind_index_key(self._region), value, purpose=purpose)
