"""Where uploaded media bytes live: the :class:`MediaStorage` interface and its local-directory
implementation.

Keys are relative, slash-separated paths such as ``products/shop_01…/<sha256>.jpeg``. They are
validated strictly (:func:`validate_key`) by every method, so a key taken from a URL can never
name a file outside the storage root: no ``..``, no absolute paths, no backslashes, no hidden
(dot) names, only ``[A-Za-z0-9_.-]`` in each segment. The content type follows from the key's
extension (:data:`CONTENT_TYPES`), so a stored object is always served as what it was stored as.

The methods block (file or network I/O). Async code calls them from a worker thread
(``anyio.to_thread.run_sync``), as :mod:`shopreel.catalog.image_service` does.

S3-compatible storage is the documented production path but is not built yet:
``SHOPREEL_MEDIA_BACKEND=s3`` makes :func:`storage_for` (called at start-up) fail with a clear
message instead of silently writing to the local disk.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Final

from shopreel.config import Settings
from shopreel.errors import NotFound

__all__ = [
    "CHUNK_SIZE",
    "CONTENT_TYPES",
    "InvalidMediaKey",
    "LocalMediaStorage",
    "MediaBackendUnavailable",
    "MediaNotFound",
    "MediaStorage",
    "StoredObject",
    "content_type_for",
    "is_valid_key",
    "storage_for",
    "validate_key",
]

CHUNK_SIZE: Final = 64 * 1024
MAX_KEY_LENGTH: Final = 255  # ProductImage.storage_key and Shop.logo_key are String(255)
MAX_SEGMENTS: Final = 8

CONTENT_TYPES: Final[dict[str, str]] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "webm": "video/webm",
}
"""Extension -> content type. Only these extensions can be stored (and so served)."""

# Each segment starts with a letter or digit (so "." and ".." and hidden names are impossible)
# and the last one carries one of the known extensions.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_LEAF = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,127})\.([a-z0-9]{1,8})$")


class InvalidMediaKey(ValueError):
    """A key that could escape the storage root, or that names no storable type."""


class MediaNotFound(NotFound):
    code = "media_not_found"


class MediaBackendUnavailable(RuntimeError):
    """The configured media backend cannot be used (raised at start-up)."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe relative key with a known extension."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidMediaKey("a media key has 1 to 255 characters")
    segments = key.split("/")
    if len(segments) > MAX_SEGMENTS:
        raise InvalidMediaKey("a media key has at most 8 segments")
    *folders, leaf = segments
    for folder in folders:
        if not _SEGMENT.match(folder):
            raise InvalidMediaKey(f"invalid folder in media key {key!r}")
    match = _LEAF.match(leaf)
    if match is None or match.group(2) not in CONTENT_TYPES:
        raise InvalidMediaKey(f"invalid file name in media key {key!r}")
    return key


def is_valid_key(key: str) -> bool:
    try:
        validate_key(key)
    except InvalidMediaKey:
        return False
    return True


def content_type_for(key: str) -> str:
    return CONTENT_TYPES[validate_key(key).rsplit(".", 1)[1]]


class MediaStorage(ABC):
    """Stores immutable blobs under validated keys.

    Keys are content-addressed by the callers (the SHA-256 of the bytes is part of the key), so
    ``put`` of an existing key writes the same bytes again and the result never changes. That
    is what makes long-lived HTTP caching of ``/media/{key}`` safe.
    """

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Store ``data`` under ``key``; readers see the old object or the new one, never a
        partial write. ``content_type`` must be the one the key's extension implies."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The whole object. Raises :class:`MediaNotFound`."""

    @abstractmethod
    def open(self, key: str) -> Iterator[bytes]:
        """The object as chunks, for streaming responses. Raises :class:`MediaNotFound` when
        called (not on the first iteration), so a handler can answer 404 before it starts."""

    @abstractmethod
    def stat(self, key: str) -> StoredObject | None:
        """Size and content type, or None when there is no such object."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the object; True if it existed. Deleting a missing key is not an error."""

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def url(self, key: str) -> str:
        """The URL the app serves the object at (``GET /media/{key}``)."""
        return f"/media/{validate_key(key)}"

    @staticmethod
    def _check_type(key: str, content_type: str) -> None:
        expected = content_type_for(key)
        if content_type != expected:
            raise InvalidMediaKey(f"key {key!r} holds {expected}, not {content_type}")


class LocalMediaStorage(MediaStorage):
    """Files under one root directory, written atomically (temporary file, fsync, rename).

    Temporary files start with a dot, which no valid key can name, so a half-written file is
    never served. The root is created on first use.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        validate_key(key)
        root = self.root.resolve()
        path = (root / key).resolve()
        # Defence in depth: validation already rules out "..", but a symlink placed inside the
        # root by someone else must not lead outside it either.
        if not path.is_relative_to(root):
            raise InvalidMediaKey(f"media key {key!r} leaves the storage root")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        self._check_type(key, content_type)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            with open(temporary, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        return StoredObject(key=key, size=len(data), content_type=content_type)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise MediaNotFound("No such media.") from exc

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise MediaNotFound("No such media.") from exc
        return _chunks(handle)

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return StoredObject(key=key, size=path.stat().st_size, content_type=content_type_for(key))

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True


def _chunks(handle: BufferedReader) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def storage_for(settings: Settings) -> MediaStorage:
    """The media storage the settings ask for (``SHOPREEL_MEDIA_BACKEND``)."""
    if settings.media_backend == "local":
        return LocalMediaStorage(settings.media_dir)
    raise MediaBackendUnavailable(
        f"SHOPREEL_MEDIA_BACKEND={settings.media_backend!r}: S3-compatible media storage is "
        "documented as the production path but is not built yet. Use "
        "SHOPREEL_MEDIA_BACKEND=local (files under SHOPREEL_DATA_DIR/media); see docs/media.md."
    )
