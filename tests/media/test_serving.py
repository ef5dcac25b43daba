"""GET /media/{key}: content type from the key, nosniff, immutable caching with an ETag,
conditional requests, HEAD, and one 404 for unknown, invalid and traversing keys."""

from __future__ import annotations

import httpx
import pytest

from shopreel.media.storage import LocalMediaStorage
from tests.media.helpers import encode, picture

SHA = "cd" * 32


@pytest.fixture
def stored(media: LocalMediaStorage) -> dict[str, bytes]:
    objects = {
        f"products/shop_1/{SHA}.png": encode(picture(), "PNG"),
        f"products/shop_1/{SHA}-small.webp": encode(picture(), "WEBP"),
        f"logos/shop_1/{SHA}.jpeg": encode(picture(), "JPEG"),
    }
    for key, data in objects.items():
        media.put(key, data, "image/" + key.rsplit(".", 1)[1])
    return objects


async def test_serves_stored_media(client: httpx.AsyncClient, stored: dict[str, bytes]) -> None:
    for key, data in stored.items():
        response = await client.get(f"/media/{key}")
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["content-type"] == "image/" + key.rsplit(".", 1)[1]
        assert response.headers["content-length"] == str(len(data))
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
        leaf = key.rsplit("/", 1)[1].rsplit(".", 1)[0]
        assert response.headers["etag"] == f'"{leaf}"'
        assert "set-cookie" not in response.headers


async def test_conditional_get_and_head(
    client: httpx.AsyncClient, stored: dict[str, bytes]
) -> None:
    key = f"products/shop_1/{SHA}.png"
    etag = f'"{SHA}"'
    not_modified = await client.get(f"/media/{key}", headers={"if-none-match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    other = await client.get(f"/media/{key}", headers={"if-none-match": '"something-else"'})
    assert other.status_code == 200

    head = await client.head(f"/media/{key}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(stored[key]))
    assert head.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "path",
    [
        f"/media/products/shop_1/{'ef' * 32}.png",  # well-formed, not stored
        "/media/products/shop_1/../../../etc/passwd",
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/%2e%2e/%2e%2e/global.db",
        "/media//etc/passwd.png",
        "/media/products/shop_1/.hidden.png",
        "/media/products/shop_1/x.html",
        "/media/products\\shop_1\\x.png",
        "/media/",
    ],
)
async def test_unknown_and_invalid_keys_are_404(
    client: httpx.AsyncClient, stored: dict[str, bytes], path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] in ("media_not_found", "not_found")


async def test_traversal_cannot_reach_files_beside_the_root(
    client: httpx.AsyncClient, media: LocalMediaStorage
) -> None:
    media.root.mkdir(parents=True, exist_ok=True)
    secret = media.root.parent / "secret.png"
    secret.write_bytes(b"TOP-SECRET-BYTES")
    for path in (
        "/media/../secret.png",
        "/media/%2E%2E/secret.png",
        "/media/x/..%2f..%2fsecret.png",
    ):
        response = await client.get(path)
        assert response.status_code == 404
        assert b"TOP-SECRET-BYTES" not in response.content


async def test_uploaded_image_is_served(
    client: httpx.AsyncClient, media: LocalMediaStorage
) -> None:
    key = f"products/shop_2/{SHA}.png"
    media.put(key, b"\x89PNG\r\n\x1a\nnot really", "image/png")
    response = await client.get(media.url(key))
    assert response.status_code == 200
    assert response.content == b"\x89PNG\r\n\x1a\nnot really"
