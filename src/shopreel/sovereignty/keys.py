"""Key hierarchy: per-region key-encryption keys (KEKs) wrap per-user data keys (DEKs).

::

    region KEK (32 bytes, AES-256, never leaves the region's key store)
      └── wraps ──> user DEK (32 bytes, stored only wrapped, next to the user row)
                      └── encrypts ──> PII fields (AES-256-GCM, see crypto.py)
    region blind-index key (32 bytes, HMAC-SHA256) ──> equality-lookup indexes

Wrapped DEK format (version 1, 77 bytes)::

    0x01 || kek_id (16 bytes) || nonce (12 bytes) || AES-256-GCM(KEK, DEK) (32 + 16 bytes)

``kek_id`` is the first 16 bytes of SHA-256(KEK); it lets a rotated or wrong KEK be
detected before decryption. The GCM associated data is ``b"shopreel/dek/v1|" + region``, so a
DEK wrapped for region A never unwraps in region B, even if B's KEK were a copy of A's.

:class:`KeyProvider` is the plug-in interface (a KMS or Vault adapter implements it);
:class:`LocalKeyProvider` keeps raw keys in ``<key_dir>/<region>/{kek,index}.key`` files.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import threading
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopreel.sovereignty.crypto import DATA_KEY_SIZE, CryptoError, InvalidKeyError

__all__ = [
    "KEK_ID_SIZE",
    "WRAPPED_KEY_SIZE",
    "WRAP_FORMAT_VERSION",
    "InvalidRegionError",
    "KeyFileError",
    "KeyProvider",
    "KeyUnwrapError",
    "LocalKeyProvider",
    "compute_kek_id",
    "unwrap_with_kek",
    "validate_region",
    "wrap_with_kek",
]

WRAP_FORMAT_VERSION: Final = 0x01
KEK_ID_SIZE: Final = 16
_NONCE_SIZE: Final = 12
_TAG_SIZE: Final = 16
WRAPPED_KEY_SIZE: Final = 1 + KEK_ID_SIZE + _NONCE_SIZE + DATA_KEY_SIZE + _TAG_SIZE
_DEK_AAD_PREFIX: Final = b"shopreel/dek/v1|"
_REGION_RE: Final = re.compile(r"[a-z][a-z0-9-]{0,15}")

KEK_FILE_NAME: Final = "kek.key"
INDEX_KEY_FILE_NAME: Final = "index.key"


class KeyFileError(CryptoError):
    """A key file (or its directory) is unsafe or malformed and was refused."""


class KeyUnwrapError(CryptoError):
    """A wrapped data key could not be unwrapped (wrong region, rotated KEK, tampering)."""


class InvalidRegionError(CryptoError, ValueError):
    """A region name does not match ``^[a-z][a-z0-9-]{0,15}$``."""


def validate_region(region: str) -> str:
    """Return ``region`` if it is a valid region name, else raise :class:`InvalidRegionError`.

    Region names become directory names, so this is also the path-traversal guard.
    """
    if not isinstance(region, str) or _REGION_RE.fullmatch(region) is None:
        raise InvalidRegionError(
            f"invalid region name {region!r}: expected ^[a-z][a-z0-9-]{{0,15}}$"
        )
    return region


def compute_kek_id(kek: bytes) -> bytes:
    """The 16-byte identifier of a KEK: the first 16 bytes of SHA-256(KEK)."""
    return hashlib.sha256(kek).digest()[:KEK_ID_SIZE]


def _dek_aad(region: str) -> bytes:
    return _DEK_AAD_PREFIX + region.encode("ascii")


def wrap_with_kek(kek: bytes, region: str, data_key: bytes) -> bytes:
    """Wrap ``data_key`` under ``kek`` for ``region`` (version-1 format, 77 bytes)."""
    validate_region(region)
    if len(kek) != DATA_KEY_SIZE:
        raise InvalidKeyError(f"KEK must be exactly {DATA_KEY_SIZE} bytes")
    if not isinstance(data_key, bytes | bytearray) or len(data_key) != DATA_KEY_SIZE:
        raise InvalidKeyError(f"data key must be exactly {DATA_KEY_SIZE} bytes")
    nonce = secrets.token_bytes(_NONCE_SIZE)
    sealed = AESGCM(kek).encrypt(nonce, bytes(data_key), _dek_aad(region))
    return bytes([WRAP_FORMAT_VERSION]) + compute_kek_id(kek) + nonce + sealed


def unwrap_with_kek(kek: bytes, region: str, wrapped: bytes) -> bytes:
    """Unwrap a version-1 wrapped DEK; raise :class:`KeyUnwrapError` on any failure."""
    validate_region(region)
    if len(kek) != DATA_KEY_SIZE:
        raise InvalidKeyError(f"KEK must be exactly {DATA_KEY_SIZE} bytes")
    if not isinstance(wrapped, bytes | bytearray):
        raise KeyUnwrapError("wrapped data key must be bytes")
    if len(wrapped) != WRAPPED_KEY_SIZE:
        raise KeyUnwrapError(
            f"wrapped data key has length {len(wrapped)}, expected {WRAPPED_KEY_SIZE}"
        )
    if wrapped[0] != WRAP_FORMAT_VERSION:
        raise KeyUnwrapError(f"unknown wrapped-key format version {wrapped[0]:#04x}")
    kek_id = bytes(wrapped[1 : 1 + KEK_ID_SIZE])
    expected_id = compute_kek_id(kek)
    if not hmac.compare_digest(kek_id, expected_id):
        raise KeyUnwrapError(
            f"data key was wrapped by KEK {kek_id.hex()}, but region {region!r} uses KEK "
            f"{expected_id.hex()} (wrong region, or the KEK was rotated)"
        )
    offset = 1 + KEK_ID_SIZE
    nonce = bytes(wrapped[offset : offset + _NONCE_SIZE])
    sealed = bytes(wrapped[offset + _NONCE_SIZE :])
    try:
        data_key = AESGCM(kek).decrypt(nonce, sealed, _dek_aad(region))
    except InvalidTag:
        raise KeyUnwrapError(
            f"wrapped data key failed authentication for region {region!r} "
            "(wrong region or modified bytes)"
        ) from None
    if len(data_key) != DATA_KEY_SIZE:  # pragma: no cover - impossible for authentic input
        raise KeyUnwrapError("unwrapped data key has the wrong size")
    return data_key


@runtime_checkable
class KeyProvider(Protocol):
    """Source of region keys. Implement this to plug in a KMS, HSM or Vault.

    Implementations must be safe to call from several threads, must never return key
    material of one region for another, and must raise :class:`KeyUnwrapError` (never return
    garbage) when a wrapped key cannot be opened.
    """

    def wrap_data_key(self, region: str, data_key: bytes) -> bytes:
        """Encrypt a 32-byte DEK under the region's KEK; the result is stored with the user."""
        ...

    def unwrap_data_key(self, region: str, wrapped: bytes) -> bytes:
        """Inverse of :meth:`wrap_data_key`; raise :class:`KeyUnwrapError` on failure."""
        ...

    def blind_index_key(self, region: str) -> bytes:
        """The region's 32-byte HMAC key for blind indexes (distinct from the KEK)."""
        ...

    def kek_id(self, region: str) -> str:
        """A stable, non-secret identifier of the region's current KEK."""
        ...


def _describe_mode(mode: int) -> str:
    return oct(stat.S_IMODE(mode))


def _read_key_file(path: Path) -> bytes:
    """Read and validate a key file. Raises FileNotFoundError if it does not exist."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyFileError(f"cannot open key file {path}: {exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        if stat.S_IMODE(info.st_mode) & ~0o600:
            raise KeyFileError(
                f"key file {path} has permissions {_describe_mode(info.st_mode)}, "
                f"which are wider than 0o600; run `chmod 600 {path}` (and check who may "
                "have read it; consider rotating the key)"
            )
        data = b""
        while len(data) <= DATA_KEY_SIZE:
            chunk = os.read(fd, DATA_KEY_SIZE + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) != DATA_KEY_SIZE:
        size = f"{len(data)}" if len(data) <= DATA_KEY_SIZE else f"more than {DATA_KEY_SIZE}"
        raise KeyFileError(
            f"key file {path} must contain exactly {DATA_KEY_SIZE} raw bytes, found {size}"
        )
    return data


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _ensure_private_dir(path: Path) -> None:
    """Create ``path`` with mode 0o700 if missing; refuse it if others can write to it."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    else:
        os.chmod(path, 0o700)  # mkdir's mode is reduced by the umask; make it exact
        _fsync_dir(path.parent)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise KeyFileError(f"key directory {path} is not a directory")
    if stat.S_IMODE(info.st_mode) & 0o022:
        raise KeyFileError(
            f"key directory {path} has permissions {_describe_mode(info.st_mode)} and is "
            f"writable by other users; run `chmod 700 {path}`"
        )


def _create_key_file(path: Path) -> bytes:
    """Atomically create ``path`` with 32 fresh random bytes, or return the existing key.

    The key is written to a private temporary file (O_CREAT|O_EXCL, mode 0o600), flushed, and
    published with ``os.link``, which - unlike ``os.replace`` - fails if the target already
    exists. If another process won the race, its key is read back and used instead, so no
    process can ever overwrite a KEK that somebody may already have used.
    """
    try:
        return _publish_new_key(path)
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc}") from exc


def _publish_new_key(path: Path) -> bytes:
    key = secrets.token_bytes(DATA_KEY_SIZE)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(key)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key_file(path)  # lost the race: use the winner's key
        _fsync_dir(path.parent)
        return key
    finally:
        tmp.unlink(missing_ok=True)


class LocalKeyProvider(KeyProvider):
    """File-based :class:`KeyProvider` for development, tests and single-host deployments.

    Layout: ``<key_dir>/<region>/kek.key`` and ``<key_dir>/<region>/index.key``, each exactly
    32 random bytes, mode 0o600, in a directory of mode 0o700. Missing files are created on
    first use; existing files with permissions wider than 0o600 or the wrong length are
    refused with :class:`KeyFileError`. Keys are cached in memory after the first read.
    """

    def __init__(self, key_dir: Path) -> None:
        self._key_dir = Path(key_dir)
        self._cache: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    @property
    def key_dir(self) -> Path:
        return self._key_dir

    def _key(self, region: str, file_name: str) -> bytes:
        validate_region(region)
        cache_key = (region, file_name)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(cache_key)
            if cached is not None:
                return cached
            self._key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            region_dir = self._key_dir / region
            _ensure_private_dir(region_dir)
            path = region_dir / file_name
            try:
                key = _read_key_file(path)
            except FileNotFoundError:
                key = _create_key_file(path)
            self._cache[cache_key] = key
            return key

    def _kek(self, region: str) -> bytes:
        return self._key(region, KEK_FILE_NAME)

    def wrap_data_key(self, region: str, data_key: bytes) -> bytes:
        return wrap_with_kek(self._kek(region), region, data_key)

    def unwrap_data_key(self, region: str, wrapped: bytes) -> bytes:
        return unwrap_with_kek(self._kek(region), region, wrapped)

    def blind_index_key(self, region: str) -> bytes:
        return self._key(region, INDEX_KEY_FILE_NAME)

    def kek_id(self, region: str) -> str:
        return compute_kek_id(self._kek(region)).hex()
