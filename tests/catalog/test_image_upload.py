"""Product image upload through the API: the pipeline end to end (decode, strip metadata,
re-encode, thumbnails, content-addressed storage, a ready row), every rejection (with nothing
stored and no row), the limits, ordering, alt text, deletion, variant images and shop logos."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image, features
from sqlalchemy import select

from shopreel.catalog import image_service
from shopreel.catalog.models import ImageStatus, ProductImage
from shopreel.kit.ids import new_id
from shopreel.media.storage import LocalMediaStorage
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import create_product, create_seller
from tests.media.helpers import (
    API,
    BLUE,
    RED,
    Clients,
    Session,
    encode,
    files_under,
    gps_exif,
    image_rows,
    jpeg,
    picture,
    png_bomb,
    shop_logo,
    variant_image,
)

pytestmark = pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")


@pytest.fixture
def media(app: FastAPI, tmp_path: Path) -> LocalMediaStorage:
    storage = LocalMediaStorage(tmp_path / "media")
    app.state.media_storage = storage
    return storage


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Clients]:
    opened = Clients(app)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def seller(runtime: Runtime, clients: Clients) -> tuple[Session, str, str]:
    """A signed-in seller, their shop id and a product id."""
    created = await create_seller(runtime)
    product, _ = await create_product(runtime, created.shop, status="draft")
    return await clients.login(created.email), created.shop.id, product.id


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


# ---- happy paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [("JPEG", "jpeg", "image/jpeg"), ("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")],
)
async def test_upload_each_accepted_format(
    runtime: Runtime,
    media: LocalMediaStorage,
    seller: tuple[Session, str, str],
    fmt: str,
    extension: str,
    content_type: str,
) -> None:
    session, shop_id, product_id = seller
    source = encode(picture(1200, 800), fmt)

    response = await session.upload(product_id, source, filename=f"photo.{extension}", alt="Red")

    assert response.status_code == 201, response.text
    body = response.json()
    sha = body["sha256"]
    original = f"products/{shop_id}/{sha}.{extension}"
    assert body["status"] == "ready"
    assert body["position"] == 1
    assert body["alt"] == "Red"
    assert body["content_type"] == content_type
    assert (body["width"], body["height"]) == (1200, 800)
    assert body["url"] == f"/media/{original}"
    assert body["thumbnails"] == {
        "small": f"/media/products/{shop_id}/{sha}-small.webp",
        "medium": f"/media/products/{shop_id}/{sha}-medium.webp",
    }
    assert files_under(media.root) == sorted(
        [original, f"products/{shop_id}/{sha}-medium.webp", f"products/{shop_id}/{sha}-small.webp"]
    )
    stored = media.get(original)
    assert body["size_bytes"] == len(stored)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt
        assert image.size == (1200, 800)
    for name, longest in (("small", 160), ("medium", 480)):
        with Image.open(io.BytesIO(media.get(f"products/{shop_id}/{sha}-{name}.webp"))) as thumb:
            assert thumb.format == "WEBP"
            assert max(thumb.size) == longest

    [row] = await image_rows(runtime, product_id)
    assert row["status"] == ImageStatus.READY.value
    assert row["storage_key"] == original
    assert row["sha256"] == sha
    assert row["thumbnails"] == {
        "small": f"products/{shop_id}/{sha}-small.webp",
        "medium": f"products/{shop_id}/{sha}-medium.webp",
    }


async def test_exif_and_gps_are_stripped_from_the_stored_original(
    media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    source = encode(picture(300, 200), "JPEG", exif=gps_exif())
    assert b"SecretCam" in source
    with Image.open(io.BytesIO(source)) as before:
        assert before.getexif().get_ifd(0x8825)  # GPS IFD present in the upload

    response = await session.upload(product_id, source)

    assert response.status_code == 201, response.text
    for key in files_under(media.root):
        data = media.get(key)
        assert b"SecretCam" not in data
        assert b"Exif" not in data
        with Image.open(io.BytesIO(data)) as stored:
            assert not stored.getexif()
            assert "exif" not in stored.info


async def test_raw_body_upload_with_alt_in_the_query(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    response = await session.post(
        f"{API}/uploads/products/{product_id}/images",
        params={"alt": "Front view"},
        content=encode(picture(), "PNG"),
        headers={"content-type": "image/png"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["alt"] == "Front view"
    assert [row["alt"] for row in await image_rows(runtime, product_id)] == ["Front view"]


async def test_declared_type_does_not_decide_the_format(
    media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    # A PNG sent as "image/jpeg" named .jpg is stored as the PNG it is.
    response = await session.upload(product_id, encode(picture(), "PNG"), filename="x.jpg")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/png"
    assert response.json()["url"].endswith(".png")


async def test_a_bearer_token_with_catalog_write_can_upload(
    clients: Clients, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    created = await session.post(
        f"{API}/me/tokens", json={"name": "tool", "scopes": ["catalog:write", "catalog:read"]}
    )
    token = created.json()["token"]
    client = clients.anonymous()
    response = await client.post(
        f"{API}/uploads/products/{product_id}/images",
        content=jpeg(),
        headers={"authorization": f"Bearer {token}", "content-type": "image/jpeg"},
    )
    assert response.status_code == 201, response.text


# ---- rejections -------------------------------------------------------------------------------


def _gif() -> bytes:
    return encode(picture(), "GIF")


def _svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


def _text() -> bytes:
    return b"this is not a picture, whatever its name says\n"


def _truncated_jpeg() -> bytes:
    data = encode(picture(400, 400), "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "filename", "code"),
    [
        (png_bomb, "bomb.png", "decompression_bomb"),
        (_gif, "anim.gif", "unsupported_format"),
        (_svg, "logo.svg", "unsupported_format"),
        (_text, "photo.jpg", "not_an_image"),
        (_truncated_jpeg, "photo.jpg", "not_an_image"),
    ],
)
async def test_rejected_uploads_store_nothing(
    runtime: Runtime,
    media: LocalMediaStorage,
    seller: tuple[Session, str, str],
    make: Callable[[], bytes],
    filename: str,
    code: str,
) -> None:
    session, _, product_id = seller
    response = await session.upload(product_id, make(), filename=filename)

    assert_problem(response, 422, code)
    assert response.json()["detail"]
    assert files_under(media.root) == []
    assert await image_rows(runtime, product_id) == []


async def test_a_bomb_is_refused_without_decoding_its_pixels(
    runtime: Runtime,
    media: LocalMediaStorage,
    seller: tuple[Session, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import ImageFile

    def no_load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)
    session, _, product_id = seller
    response = await session.upload(product_id, png_bomb(7_000, 7_000), filename="b.png")
    assert_problem(response, 422, "decompression_bomb")
    assert "7000x7000" in response.json()["detail"]
    assert files_under(media.root) == []
    assert await image_rows(runtime, product_id) == []


async def test_declared_oversized_body_is_refused_before_reading(
    runtime: Runtime,
    media: LocalMediaStorage,
    seller: tuple[Session, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the image was processed")

    monkeypatch.setattr(image_service, "process_image", never)
    session, _, product_id = seller
    limit = image_service.MAX_IMAGE_BYTES

    async def body() -> AsyncIterator[bytes]:
        yield b"\xff\xd8\xff"  # the app never asks for more than the headers

    response = await session.post(
        f"{API}/uploads/products/{product_id}/images",
        content=body(),
        headers={"content-type": "image/jpeg", "content-length": str(limit + 1)},
    )
    assert_problem(response, 413, "too_large")
    assert files_under(media.root) == []
    assert await image_rows(runtime, product_id) == []


async def test_streamed_raw_body_stops_at_the_limit(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    limit = image_service.MAX_IMAGE_BYTES
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        chunk = b"\xff" * 2**20
        for _ in range(limit // len(chunk) + 10):
            sent += len(chunk)
            yield chunk

    response = await session.post(
        f"{API}/uploads/products/{product_id}/images",
        content=body(),  # chunked: no Content-Length
        headers={"content-type": "image/jpeg"},
    )
    assert_problem(response, 413, "too_large")
    assert sent <= limit + 2 * 2**20  # reading stopped just past the limit
    assert files_under(media.root) == []
    assert await image_rows(runtime, product_id) == []


async def test_multipart_file_over_the_limit_is_refused(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    data = jpeg() + b"\x00" * (image_service.MAX_IMAGE_BYTES + 1)  # fits the framing room
    response = await session.upload(product_id, data)
    assert_problem(response, 413, "too_large")
    assert files_under(media.root) == []
    assert await image_rows(runtime, product_id) == []


async def test_multipart_without_content_length_is_refused(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller

    async def body() -> AsyncIterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=a.jpg\r\n\r\n"
        yield jpeg() + b"\r\n--b--\r\n"

    response = await session.post(
        f"{API}/uploads/products/{product_id}/images",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert_problem(response, 411, "length_required")
    assert await image_rows(runtime, product_id) == []


async def test_raw_body_of_another_type_is_refused(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    response = await session.post(
        f"{API}/uploads/products/{product_id}/images",
        content=jpeg(),
        headers={"content-type": "text/plain"},
    )
    assert_problem(response, 415, "unsupported_media_type")
    response = await session.post(
        f"{API}/uploads/products/{product_id}/images", data={"alt": "no file"}, files={}
    )
    assert response.status_code in (415, 422)
    assert await image_rows(runtime, product_id) == []
    assert files_under(media.root) == []


async def test_multipart_without_a_file_field(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    response = await session.post(
        f"{API}/uploads/products/{product_id}/images",
        files={"picture": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert_problem(response, 422, "missing_file")
    assert await image_rows(runtime, product_id) == []


async def test_at_most_twenty_images(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, shop_id, product_id = seller
    async with runtime.databases.transaction(GLOBAL) as db:
        for position in range(1, image_service.MAX_IMAGES_PER_PRODUCT):
            db.add(
                ProductImage(
                    id=new_id("img"),
                    product_id=product_id,
                    shop_id=shop_id,
                    position=position,
                    source_url=f"https://cdn.example.com/{position}.jpg",
                    status=ImageStatus.REMOTE.value,
                )
            )
    assert (await session.upload(product_id, jpeg())).status_code == 201  # the 20th
    before = await image_rows(runtime, product_id)
    stored = files_under(media.root)

    response = await session.upload(product_id, jpeg(color=(0, 200, 0)))

    assert_problem(response, 409, "too_many_images")
    assert await image_rows(runtime, product_id) == before
    assert files_under(media.root) == stored


async def test_the_same_picture_twice_on_one_product_is_a_conflict(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    first = await session.upload(product_id, jpeg())
    assert first.status_code == 201
    response = await session.upload(product_id, jpeg())
    assert_problem(response, 409, "duplicate_image")
    assert response.json()["image_id"] == first.json()["id"]
    assert len(await image_rows(runtime, product_id)) == 1


async def test_alt_text_limit(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    response = await session.upload(product_id, jpeg(), alt="x" * 513)
    assert_problem(response, 422, "alt_too_long")
    assert await image_rows(runtime, product_id) == []
    assert files_under(media.root) == []


async def test_unknown_product_and_no_shop(
    runtime: Runtime, clients: Clients, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, _ = seller
    assert_problem(await session.upload("prd_missing", jpeg()), 404, "product_not_found")
    await create_user(runtime, email="no-shop@example.com")
    shopper = await clients.login("no-shop@example.com")
    assert_problem(await shopper.upload("prd_missing", jpeg()), 403, "shop_required")
    anonymous = clients.anonymous()
    response = await anonymous.post(
        f"{API}/uploads/products/prd_x/images",
        content=jpeg(),
        headers={"content-type": "image/jpeg"},
    )
    assert_problem(response, 401, "not_authenticated")
    assert files_under(media.root) == []


async def test_a_read_only_token_cannot_upload(
    runtime: Runtime, clients: Clients, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    created = await session.post(
        f"{API}/me/tokens", json={"name": "ro", "scopes": ["catalog:read"]}
    )
    token = created.json()["token"]
    client = clients.anonymous()
    headers = {"authorization": f"Bearer {token}"}
    response = await client.post(
        f"{API}/uploads/products/{product_id}/images",
        content=jpeg(),
        headers={**headers, "content-type": "image/jpeg"},
    )
    assert_problem(response, 403, "insufficient_scope")
    listing = await client.get(f"{API}/seller/products/{product_id}/images", headers=headers)
    assert listing.status_code == 200
    assert listing.json()["items"] == []
    assert files_under(media.root) == []


async def test_suspended_shop_cannot_upload(
    runtime: Runtime, clients: Clients, media: LocalMediaStorage
) -> None:
    from shopreel.catalog.models import ShopStatus

    created = await create_seller(runtime, status=ShopStatus.SUSPENDED)
    product, _ = await create_product(runtime, created.shop)
    session = await clients.login(created.email)
    assert_problem(await session.upload(product.id, jpeg()), 403, "shop_suspended")
    assert await image_rows(runtime, product.id) == []


# ---- order, alt text, deletion ----------------------------------------------------------------


async def _three(session: Session, product_id: str) -> list[str]:
    ids = []
    for color in (RED, BLUE, (0, 160, 0)):
        response = await session.upload(product_id, jpeg(color=color))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def test_list_reorder_and_alt(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    a, b, c = await _three(session, product_id)
    listing = await session.get(f"{API}/seller/products/{product_id}/images")
    assert [item["id"] for item in listing.json()["items"]] == [a, b, c]
    assert [item["position"] for item in listing.json()["items"]] == [1, 2, 3]

    moved = await session.patch(
        f"{API}/seller/products/{product_id}/images/{c}", json={"position": 1}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["position"] == 1
    rows = await image_rows(runtime, product_id)
    assert [(row["id"], row["position"]) for row in rows] == [(c, 1), (a, 2), (b, 3)]

    # Past the end is clamped to the last place; positions stay 1..n.
    await session.patch(f"{API}/seller/products/{product_id}/images/{c}", json={"position": 99})
    rows = await image_rows(runtime, product_id)
    assert [(row["id"], row["position"]) for row in rows] == [(a, 1), (b, 2), (c, 3)]

    updated = await session.patch(
        f"{API}/seller/products/{product_id}/images/{b}", json={"alt": "  Blue\nmug  "}
    )
    assert updated.json()["alt"] == "Blue mug"
    too_long = await session.patch(
        f"{API}/seller/products/{product_id}/images/{b}", json={"alt": "x" * 513}
    )
    assert_problem(too_long, 422, "validation_failed")
    zero = await session.patch(
        f"{API}/seller/products/{product_id}/images/{b}", json={"position": 0}
    )
    assert_problem(zero, 422, "validation_failed")
    assert [row["alt"] for row in await image_rows(runtime, product_id)] == ["", "Blue mug", ""]
    missing = await session.patch(
        f"{API}/seller/products/{product_id}/images/img_missing", json={"alt": "x"}
    )
    assert_problem(missing, 404, "image_not_found")


async def test_delete_closes_the_gap_and_removes_files(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, _, product_id = seller
    a, b, c = await _three(session, product_id)
    rows = {row["id"]: row for row in await image_rows(runtime, product_id)}
    b_files = [rows[b]["storage_key"], *rows[b]["thumbnails"].values()]
    assert all(media.exists(key) for key in b_files)

    response = await session.delete(f"{API}/seller/products/{product_id}/images/{b}")

    assert response.status_code == 204
    after = await image_rows(runtime, product_id)
    assert [(row["id"], row["position"]) for row in after] == [(a, 1), (c, 2)]
    assert not any(media.exists(key) for key in b_files)
    assert len(files_under(media.root)) == 6  # a and c: original + 2 thumbnails each
    again = await session.delete(f"{API}/seller/products/{product_id}/images/{b}")
    assert_problem(again, 404, "image_not_found")


async def test_files_shared_by_two_products_stay_until_the_last_reference_goes(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, shop_id, first_id = seller
    from shopreel.catalog.models import Shop

    async with runtime.databases.transaction(GLOBAL) as db:
        shop = await db.get(Shop, shop_id)
    assert shop is not None
    second, _ = await create_product(runtime, shop)
    one = (await session.upload(first_id, jpeg())).json()
    two = (await session.upload(second.id, jpeg())).json()
    assert one["sha256"] == two["sha256"]  # content-addressed: the same keys
    assert len(files_under(media.root)) == 3

    await session.delete(f"{API}/seller/products/{first_id}/images/{one['id']}")
    assert len(files_under(media.root)) == 3  # still used by the second product

    await session.delete(f"{API}/seller/products/{second.id}/images/{two['id']}")
    assert files_under(media.root) == []


# ---- variant images ---------------------------------------------------------------------------


@pytest.fixture
async def product_with_variants(
    runtime: Runtime, clients: Clients
) -> tuple[Session, str, list[str], str]:
    created = await create_seller(runtime)
    product, variants = await create_product(
        runtime,
        created.shop,
        option_names=("Color",),
        variants=((("Red",), 1000), (("Blue",), 1100)),
    )
    other, _ = await create_product(runtime, created.shop)
    return await clients.login(created.email), product.id, [v.id for v in variants], other.id


async def test_variant_image(
    runtime: Runtime,
    media: LocalMediaStorage,
    product_with_variants: tuple[Session, str, list[str], str],
) -> None:
    session, product_id, (red, blue), other_product = product_with_variants
    image = (await session.upload(product_id, jpeg())).json()["id"]
    foreign = (await session.upload(other_product, jpeg(color=(9, 9, 9)))).json()["id"]
    url = f"{API}/seller/products/{product_id}/variants/{red}/image"

    response = await session.put(url, json={"image_id": image})
    assert response.status_code == 200, response.text
    assert response.json() == {"variant_id": red, "product_id": product_id, "image_id": image}
    assert await variant_image(runtime, red) == image

    # An image of another product of the same shop is not this product's image.
    assert_problem(await session.put(url, json={"image_id": foreign}), 404, "image_not_found")
    assert await variant_image(runtime, red) == image
    # A variant of another product.
    wrong = f"{API}/seller/products/{other_product}/variants/{blue}/image"
    assert_problem(await session.put(wrong, json={"image_id": foreign}), 404, "variant_not_found")
    assert await variant_image(runtime, blue) is None

    assert (await session.put(url, json={"image_id": None})).json()["image_id"] is None
    assert await variant_image(runtime, red) is None

    # Deleting an image clears the variants that showed it.
    await session.put(url, json={"image_id": image})
    await session.delete(f"{API}/seller/products/{product_id}/images/{image}")
    assert await variant_image(runtime, red) is None


# ---- shop logo --------------------------------------------------------------------------------


async def test_shop_logo_upload_replace_and_remove(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, shop_id, _ = seller
    first = await session.put(
        f"{API}/uploads/shop/logo",
        files={"file": ("logo.png", encode(picture(), "PNG"), "image/png")},
    )
    assert first.status_code == 200, first.text
    key = first.json()["logo_key"]
    assert key.startswith(f"logos/{shop_id}/") and key.endswith(".png")
    assert first.json()["url"] == f"/media/{key}"
    assert set(first.json()["thumbnails"]) == {"small", "medium"}
    assert await shop_logo(runtime, shop_id) == key
    first_files = files_under(media.root)
    assert len(first_files) == 3

    second = await session.put(
        f"{API}/uploads/shop/logo",
        content=encode(picture(color=(0, 120, 0)), "WEBP"),
        headers={"content-type": "image/webp"},
    )
    assert second.status_code == 200, second.text
    new_key = second.json()["logo_key"]
    assert new_key != key and new_key.endswith(".webp")
    assert await shop_logo(runtime, shop_id) == new_key
    remaining = files_under(media.root)
    assert len(remaining) == 3 and not set(remaining) & set(first_files)  # the old one is gone

    rejected = await session.put(
        f"{API}/uploads/shop/logo", files={"file": ("bomb.png", png_bomb(), "image/png")}
    )
    assert_problem(rejected, 422, "decompression_bomb")
    assert await shop_logo(runtime, shop_id) == new_key
    assert files_under(media.root) == remaining

    removed = await session.delete(f"{API}/seller/shop/logo")
    assert removed.status_code == 204
    assert await shop_logo(runtime, shop_id) is None
    assert files_under(media.root) == []


async def test_rows_are_in_the_global_plane(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, shop_id, product_id = seller
    await session.upload(product_id, jpeg())
    async with runtime.databases.transaction(GLOBAL) as db:
        row = await db.scalar(select(ProductImage).where(ProductImage.product_id == product_id))
    assert row is not None and row.shop_id == shop_id


async def test_concurrent_uploads_keep_positions_unique_and_the_limit(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, str]
) -> None:
    session, shop_id, product_id = seller
    colors = [(10 * n, 40, 90) for n in range(1, 6)]
    responses = await asyncio.gather(
        *(session.upload(product_id, jpeg(color=color)) for color in colors)
    )
    assert [r.status_code for r in responses] == [201] * 5
    rows = await image_rows(runtime, product_id)
    assert sorted(row["position"] for row in rows) == [1, 2, 3, 4, 5]

    async with runtime.databases.transaction(GLOBAL) as db:
        for position in range(6, image_service.MAX_IMAGES_PER_PRODUCT):
            db.add(
                ProductImage(
                    id=new_id("img"),
                    product_id=product_id,
                    shop_id=shop_id,
                    position=position,
                    status=ImageStatus.REMOTE.value,
                )
            )
    # One place left, three uploads racing for it: exactly one wins.
    racing = await asyncio.gather(
        *(session.upload(product_id, jpeg(color=(200, 10 * n, 0))) for n in range(3))
    )
    assert sorted(r.status_code for r in racing) == [201, 409, 409]
    rows = await image_rows(runtime, product_id)
    assert len(rows) == image_service.MAX_IMAGES_PER_PRODUCT
    assert sorted(row["position"] for row in rows) == list(range(1, 21))
