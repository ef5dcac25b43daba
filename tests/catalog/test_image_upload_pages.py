"""Seller-center image forms: the partial, upload/alt/move/delete/variant forms that redirect
back with a flash message (errors carry the rejection reason), the shop logo forms, and the
`next` target that cannot leave the seller center."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from PIL import features

from shopreel.catalog.models import Product
from shopreel.media.storage import LocalMediaStorage
from shopreel.runtime import Runtime
from tests.fixtures.sellers import create_product, create_seller
from tests.media.helpers import (
    BLUE,
    RED,
    Clients,
    Session,
    encode,
    files_under,
    image_rows,
    jpeg,
    picture,
    png_bomb,
    shop_logo,
    variant_image,
)

pytestmark = pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
HTML = {"accept": "text/html"}


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
async def seller(
    runtime: Runtime, clients: Clients, media: LocalMediaStorage
) -> tuple[Session, str, Product, list[str]]:
    created = await create_seller(runtime)
    product, variants = await create_product(
        runtime,
        created.shop,
        status="draft",
        option_names=("Color",),
        variants=((("Red",), 1000), (("Blue",), 1200)),
    )
    return await clients.login(created.email), created.shop.id, product, [v.id for v in variants]


async def upload_form(
    session: Session, product_id: str, data: bytes, *, next_url: str | None = None, alt: str = ""
) -> httpx.Response:
    fields = {"csrf_token": session.csrf, "alt": alt}
    if next_url is not None:
        fields["next"] = next_url
    return await session.client.post(
        f"/seller/uploads/products/{product_id}/images",
        data=fields,
        files={"file": ("photo.jpg", data, "image/jpeg")},
        headers=HTML,
    )


def redirected(response: httpx.Response) -> tuple[str, dict[str, list[str]], str]:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    return location.path, parse_qs(location.query), location.fragment


def no_inline_code(html: str) -> None:
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag and "nonce=" in tag


async def test_images_page_upload_and_flash(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    session, shop_id, product, _ = seller
    page_url = f"/seller/products/{product.id}/images"
    empty = await session.client.get(page_url, headers=HTML)
    assert empty.status_code == 200
    assert "No images yet" in empty.text
    assert 'enctype="multipart/form-data"' in empty.text
    assert f'action="/seller/uploads/products/{product.id}/images"' in empty.text
    assert 'name="csrf_token"' in empty.text
    assert "js/product-images.js" in empty.text
    no_inline_code(empty.text)

    response = await upload_form(session, product.id, jpeg(), next_url=page_url, alt="Red mug")
    path, query, fragment = redirected(response)
    assert (path, query, fragment) == (page_url, {"image_notice": ["uploaded"]}, "product-images")

    page = await session.client.get(response.headers["location"], headers=HTML)
    assert "Image uploaded." in page.text
    [row] = await image_rows(runtime, product.id)
    assert row["alt"] == "Red mug"
    assert f'src="/media/{row["thumbnails"]["small"]}"' in page.text
    assert 'value="Red mug"' in page.text
    assert len(files_under(media.root)) == 3
    assert all(key.startswith(f"products/{shop_id}/") for key in files_under(media.root))
    no_inline_code(page.text)


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (png_bomb(), "decompression_bomb", "too many pixels"),
        (encode(picture(), "GIF"), "unsupported_format", "format is not accepted"),
        (b"plain text, named photo.jpg", "not_an_image", "not a readable"),
    ],
)
async def test_rejections_come_back_as_flash_errors(
    runtime: Runtime,
    media: LocalMediaStorage,
    seller: tuple[Session, str, Product, list[str]],
    data: bytes,
    code: str,
    message: str,
) -> None:
    session, _, product, _ = seller
    page_url = f"/seller/products/{product.id}/images"
    response = await upload_form(session, product.id, data, next_url=page_url)
    path, query, _ = redirected(response)
    assert (path, query) == (page_url, {"image_error": [code]})
    page = await session.client.get(response.headers["location"], headers=HTML)
    assert message in page.text
    assert "alert--error" in page.text
    assert await image_rows(runtime, product.id) == []
    assert files_under(media.root) == []


async def test_a_file_over_the_limit_comes_back_as_a_flash_error(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    from shopreel.catalog.image_service import MAX_IMAGE_BYTES

    session, _, product, _ = seller
    response = await upload_form(session, product.id, jpeg() + b"\0" * MAX_IMAGE_BYTES)
    path, query, _ = redirected(response)
    assert (path, query) == (f"/seller/products/{product.id}", {"image_error": ["too_large"]})
    assert await image_rows(runtime, product.id) == []


async def test_next_cannot_leave_the_seller_center(
    media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    session, _, product, _ = seller
    for target in ("https://evil.example/", "//evil.example/x", "/account", "/seller/../admin"):
        response = await upload_form(
            session, product.id, jpeg(color=(len(target), 0, 0)), next_url=target
        )
        path, _, _ = redirected(response)
        assert path == f"/seller/products/{product.id}"


async def test_unknown_notice_codes_show_nothing(
    media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    session, _, product, _ = seller
    page = await session.client.get(
        f"/seller/products/{product.id}/images",
        params={"image_error": "<script>alert(1)</script>", "image_notice": "Free text"},
        headers=HTML,
    )
    assert page.status_code == 200
    assert "alert(1)" not in page.text
    assert "Free text" not in page.text


async def test_alt_move_delete_and_variant_forms(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    session, _, product, (red_variant, _) = seller
    for color in (RED, BLUE, (0, 150, 0)):
        redirected(await upload_form(session, product.id, jpeg(color=color)))
    a, b, c = (row["id"] for row in await image_rows(runtime, product.id))
    base = f"/seller/products/{product.id}/images"
    back = f"/seller/products/{product.id}/images"

    async def post(path: str, **fields: str) -> tuple[str, dict[str, list[str]], str]:
        response = await session.client.post(
            path, data={**fields, "csrf_token": session.csrf, "next": back}, headers=HTML
        )
        return redirected(response)

    assert (await post(f"{base}/{b}/alt", alt="Blue side"))[1] == {"image_notice": ["updated"]}
    assert (await post(f"{base}/{c}/move", position="1"))[1] == {"image_notice": ["moved"]}
    rows = await image_rows(runtime, product.id)
    assert [(row["id"], row["position"], row["alt"]) for row in rows] == [
        (c, 1, ""),
        (a, 2, ""),
        (b, 3, "Blue side"),
    ]
    too_long = await post(f"{base}/{b}/alt", alt="x" * 600)
    assert too_long[1] == {"image_error": ["alt_too_long"]}
    assert [row["alt"] for row in await image_rows(runtime, product.id)][2] == "Blue side"

    variant_url = f"/seller/products/{product.id}/variants/{red_variant}/image"
    assert (await post(variant_url, image_id=b))[1] == {"image_notice": ["variant_image"]}
    assert await variant_image(runtime, red_variant) == b
    page = await session.client.get(back, headers=HTML)
    assert "Image for each variant" in page.text
    assert f'<option value="{b}" selected>' in page.text

    assert (await post(f"{base}/{b}/delete"))[1] == {"image_notice": ["deleted"]}
    assert [row["id"] for row in await image_rows(runtime, product.id)] == [c, a]
    assert await variant_image(runtime, red_variant) is None
    assert len(files_under(media.root)) == 6
    gone = await post(f"{base}/{b}/delete")
    assert gone[1] == {"image_error": ["image_not_found"]}


async def test_oversized_declared_body_gets_a_clear_error_page(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    from shopreel.catalog.image_service import MAX_IMAGE_BYTES

    session, _, product, _ = seller

    async def body() -> AsyncIterator[bytes]:
        yield b"--b\r\n"

    response = await session.client.post(
        f"/seller/uploads/products/{product.id}/images",
        content=body(),
        headers={
            **HTML,
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(MAX_IMAGE_BYTES * 2),
        },
    )
    assert response.status_code == 413
    assert "text/html" in response.headers["content-type"]
    assert "limit" in response.text
    assert await image_rows(runtime, product.id) == []


async def test_partial_without_context_links_to_the_images_page(runtime: Runtime) -> None:
    product = Product(id="prd_x", title="Mug", shop_id="shop_x", handle="mug")
    html = runtime.templates.get_template("seller/_product_images.html").render(product=product)
    assert 'href="/seller/products/prd_x/images"' in html
    assert "<form" not in html


async def test_logo_forms(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    session, shop_id, _, _ = seller
    page = await session.client.get("/seller/shop/logo", headers=HTML)
    assert page.status_code == 200
    assert "No logo yet." in page.text
    no_inline_code(page.text)

    response = await session.client.post(
        "/seller/uploads/shop/logo",
        data={"csrf_token": session.csrf, "next": "/seller/shop/logo"},
        files={"file": ("logo.png", encode(picture(), "PNG"), "image/png")},
        headers=HTML,
    )
    path, query, fragment = redirected(response)
    assert (path, query, fragment) == (
        "/seller/shop/logo",
        {"image_notice": ["logo_uploaded"]},
        "shop-logo",
    )
    key = await shop_logo(runtime, shop_id)
    assert key is not None and key.startswith(f"logos/{shop_id}/")
    page = await session.client.get(response.headers["location"], headers=HTML)
    assert "Logo uploaded." in page.text
    assert f'src="/media/{key.rsplit(".", 1)[0]}-medium.webp"' in page.text

    bomb = await session.client.post(
        "/seller/uploads/shop/logo",
        data={"csrf_token": session.csrf, "next": "/seller/shop/logo"},
        files={"file": ("bomb.png", png_bomb(), "image/png")},
        headers=HTML,
    )
    assert redirected(bomb)[1] == {"image_error": ["decompression_bomb"]}
    assert await shop_logo(runtime, shop_id) == key

    removed = await session.client.post(
        "/seller/shop/logo/delete",
        data={"csrf_token": session.csrf, "next": "/seller/shop/logo"},
        headers=HTML,
    )
    assert redirected(removed)[1] == {"image_notice": ["logo_removed"]}
    assert await shop_logo(runtime, shop_id) is None
    assert files_under(media.root) == []


async def test_the_product_editor_shows_the_images_partial(
    runtime: Runtime, media: LocalMediaStorage, seller: tuple[Session, str, Product, list[str]]
) -> None:
    session, _, product, _ = seller
    response = await upload_form(session, product.id, jpeg())  # no next: back to the editor
    path, query, _ = redirected(response)
    assert (path, query) == (f"/seller/products/{product.id}", {"image_notice": ["uploaded"]})
    editor = await session.client.get(response.headers["location"], headers=HTML)
    assert editor.status_code == 200, editor.text
    assert 'id="product-images"' in editor.text
    assert f'action="/seller/uploads/products/{product.id}/images"' in editor.text
    assert "Image uploaded." in editor.text
    [row] = await image_rows(runtime, product.id)
    assert f"/media/{row['thumbnails']['small']}" in editor.text
    no_inline_code(editor.text)
