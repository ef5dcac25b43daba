"""LocalMediaStorage: atomic writes, strict keys, reads, deletes; the key scheme; the backend
setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shopreel.config import Settings
from shopreel.media.keys import etag_for, image_keys, thumbnail_key
from shopreel.media.storage import (
    InvalidMediaKey,
    LocalMediaStorage,
    MediaBackendUnavailable,
    MediaNotFound,
    content_type_for,
    storage_for,
    validate_key,
)
from tests.media.helpers import files_under

SHA = "ab" * 32
KEY = f"products/shop_1/{SHA}.jpeg"


@pytest.fixture
def storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media")


def test_put_get_stat_open_delete(storage: LocalMediaStorage) -> None:
    stored = storage.put(KEY, b"\xff\xd8\xffjpeg bytes", "image/jpeg")
    assert (stored.key, stored.size, stored.content_type) == (KEY, 13, "image/jpeg")
    assert storage.get(KEY) == b"\xff\xd8\xffjpeg bytes"
    assert b"".join(storage.open(KEY)) == b"\xff\xd8\xffjpeg bytes"
    assert storage.stat(KEY) == stored
    assert storage.exists(KEY)
    assert storage.url(KEY) == f"/media/{KEY}"
    assert (storage.root / KEY).read_bytes() == b"\xff\xd8\xffjpeg bytes"

    assert storage.delete(KEY) is True
    assert not storage.exists(KEY)
    assert storage.stat(KEY) is None
    assert storage.delete(KEY) is False  # deleting twice is not an error
    with pytest.raises(MediaNotFound):
        storage.get(KEY)
    with pytest.raises(MediaNotFound):
        storage.open(KEY)


def test_large_objects_stream_in_chunks(storage: LocalMediaStorage) -> None:
    data = os.urandom(200_000)
    storage.put(KEY, data, "image/jpeg")
    chunks = list(storage.open(KEY))
    assert len(chunks) == 4  # 64 KiB chunks
    assert b"".join(chunks) == data


def test_put_replaces_atomically_and_leaves_no_temporary_files(
    storage: LocalMediaStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.put(KEY, b"first", "image/jpeg")

    def failing_replace(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.put(KEY, b"second", "image/jpeg")
    # The reader still sees the complete old object, and the temporary file is gone.
    assert storage.get(KEY) == b"first"
    assert files_under(storage.root) == [KEY]

    monkeypatch.undo()
    storage.put(KEY, b"second", "image/jpeg")
    assert storage.get(KEY) == b"second"
    assert files_under(storage.root) == [KEY]


def test_temporary_file_is_written_next_to_the_target_and_renamed(
    storage: LocalMediaStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(source: str | Path, target: str | Path) -> None:
        seen.append((str(source), str(target)))
        assert Path(source).read_bytes() == b"payload"  # complete before the rename
        assert not Path(target).exists()
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    storage.put(KEY, b"payload", "image/jpeg")
    [(source, target)] = seen
    assert Path(source).parent == Path(target).parent
    assert Path(source).name.startswith(".")  # no valid key can name it
    assert not is_servable(Path(source).name)


def is_servable(name: str) -> bool:
    try:
        validate_key(f"products/shop_1/{name}")
    except InvalidMediaKey:
        return False
    return True


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../secret.jpeg",
        "products/../../etc/passwd.jpeg",
        "products/shop_1/../../x.jpeg",
        "/etc/passwd.jpeg",
        "/products/shop_1/a.jpeg",
        "products//a.jpeg",
        "products/./a.jpeg",
        "products/shop_1/.hidden.jpeg",
        "products\\shop_1\\a.jpeg",
        "products/shop_1/a.jpeg/",
        "products/shop_1/a",  # no extension
        "products/shop_1/a.html",  # not a storable type
        "products/shop_1/a.svg",
        "products/shop_1/a.JPEG",
        "products/shop 1/a.jpeg",
        "products/shop_1/a.jpeg\x00.png",
        "c:/windows/a.jpeg",
        "products/%2e%2e/a.jpeg",
        "a/" * 8 + "a.jpeg",  # too deep
        "a" * 250 + ".jpeg",  # too long
    ],
)
def test_invalid_keys_are_refused_everywhere(storage: LocalMediaStorage, key: str) -> None:
    with pytest.raises(InvalidMediaKey):
        validate_key(key)
    with pytest.raises(InvalidMediaKey):
        storage.put(key, b"x", "image/jpeg")
    with pytest.raises(InvalidMediaKey):
        storage.get(key)
    with pytest.raises(InvalidMediaKey):
        storage.delete(key)
    assert files_under(storage.root) == []


def test_a_symlink_out_of_the_root_is_not_followed(
    storage: LocalMediaStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpeg").write_bytes(b"secret")
    storage.root.mkdir(parents=True)
    (storage.root / "products").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidMediaKey):
        storage.get("products/secret.jpeg")
    with pytest.raises(InvalidMediaKey):
        storage.put("products/new.jpeg", b"x", "image/jpeg")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.jpeg"]


def test_content_type_must_match_the_extension(storage: LocalMediaStorage) -> None:
    with pytest.raises(InvalidMediaKey):
        storage.put(KEY, b"<html>", "text/html")
    with pytest.raises(InvalidMediaKey):
        storage.put(KEY, b"x", "image/png")
    assert files_under(storage.root) == []
    assert content_type_for("a/b.webp") == "image/webp"
    assert content_type_for("a/b.png") == "image/png"
    assert content_type_for("a/b.mp4") == "video/mp4"


def test_key_scheme() -> None:
    keys = image_keys("products", "shop_1", SHA, "png", ["small", "medium"])
    assert keys.original == f"products/shop_1/{SHA}.png"
    assert keys.thumbnails == {
        "small": f"products/shop_1/{SHA}-small.webp",
        "medium": f"products/shop_1/{SHA}-medium.webp",
    }
    assert thumbnail_key(keys.original, "small") == keys.thumbnails["small"]
    assert etag_for(keys.original) == f'"{SHA}"'
    assert etag_for(keys.thumbnails["medium"]) == f'"{SHA}-medium"'
    with pytest.raises(ValueError, match="sha256"):
        image_keys("products", "shop_1", "../../x", "png", [])
    with pytest.raises(InvalidMediaKey):
        image_keys("products", "../shop", SHA, "png", [])


def test_storage_for_local_and_s3(tmp_path: Path) -> None:
    local = storage_for(Settings(env="test", data_dir=tmp_path))
    assert isinstance(local, LocalMediaStorage)
    assert local.root == tmp_path / "media"
    with pytest.raises(MediaBackendUnavailable, match="not built yet"):
        storage_for(Settings(env="test", data_dir=tmp_path, media_backend="s3"))


def test_app_refuses_to_start_with_the_s3_backend(tmp_path: Path) -> None:
    from shopreel.app import create_app

    settings = Settings(env="test", data_dir=tmp_path, media_backend="s3", log_json=False)
    with pytest.raises(MediaBackendUnavailable, match="SHOPREEL_MEDIA_BACKEND='s3'"):
        create_app(settings)
