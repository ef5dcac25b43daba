"""The cross-seller matrix for images: seller B can neither read nor change seller A's product
images, variant images or logo, through the API or the seller-center forms, and after every
denied request A's rows and files are exactly as they were."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import features

from shopreel.media.storage import LocalMediaStorage
from shopreel.runtime import Runtime
from tests.fixtures.sellers import create_product, create_seller
from tests.media.helpers import (
    API,
    BLUE,
    Clients,
    Session,
    encode,
    files_under,
    image_rows,
    jpeg,
    picture,
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


@dataclass
class World:
    a: Session
    b: Session
    a_shop: str
    a_product: str
    a_variant: str
    a_image: str
    b_product: str
    b_variant: str


@pytest.fixture
async def world(runtime: Runtime, clients: Clients, media: LocalMediaStorage) -> World:
    seller_a = await create_seller(runtime)
    seller_b = await create_seller(runtime)
    a_product, a_variants = await create_product(runtime, seller_a.shop)
    b_product, b_variants = await create_product(runtime, seller_b.shop)
    a = await clients.login(seller_a.email)
    b = await clients.login(seller_b.email)
    image = await a.upload(a_product.id, jpeg(), alt="A's photo")
    assert image.status_code == 201, image.text
    logo = await a.put(
        f"{API}/uploads/shop/logo", files={"file": ("l.png", encode(picture(), "PNG"), "image/png")}
    )
    assert logo.status_code == 200
    set_variant = await a.put(
        f"{API}/seller/products/{a_product.id}/variants/{a_variants[0].id}/image",
        json={"image_id": image.json()["id"]},
    )
    assert set_variant.status_code == 200
    return World(
        a=a,
        b=b,
        a_shop=seller_a.shop.id,
        a_product=a_product.id,
        a_variant=a_variants[0].id,
        a_image=image.json()["id"],
        b_product=b_product.id,
        b_variant=b_variants[0].id,
    )


async def snapshot(runtime: Runtime, media: LocalMediaStorage, w: World) -> dict[str, Any]:
    return {
        "images": await image_rows(runtime, w.a_product),
        "variant": await variant_image(runtime, w.a_variant),
        "b_variant": await variant_image(runtime, w.b_variant),
        "logo": await shop_logo(runtime, w.a_shop),
        "files": files_under(media.root),
        "bytes": {key: media.get(key) for key in files_under(media.root)},
    }


def not_found(response: httpx.Response, code: str) -> None:
    assert response.status_code == 404, response.text
    if response.headers["content-type"].startswith("application/problem+json"):
        assert response.json()["code"] == code


async def test_seller_b_cannot_touch_seller_a_images_through_the_api(
    runtime: Runtime, media: LocalMediaStorage, world: World
) -> None:
    w, b = world, world.b
    before = await snapshot(runtime, media, w)
    images = f"{API}/seller/products/{w.a_product}/images"

    not_found(await b.upload(w.a_product, jpeg(color=BLUE)), "product_not_found")
    not_found(
        await b.post(
            f"{API}/uploads/products/{w.a_product}/images",
            content=jpeg(color=BLUE),
            headers={"content-type": "image/jpeg"},
        ),
        "product_not_found",
    )
    not_found(await b.get(images), "product_not_found")
    not_found(await b.patch(f"{images}/{w.a_image}", json={"alt": "mine"}), "product_not_found")
    not_found(await b.patch(f"{images}/{w.a_image}", json={"position": 5}), "product_not_found")
    not_found(await b.delete(f"{images}/{w.a_image}"), "product_not_found")
    not_found(
        await b.put(
            f"{API}/seller/products/{w.a_product}/variants/{w.a_variant}/image",
            json={"image_id": None},
        ),
        "product_not_found",
    )
    # A's ids under B's own product: the image and variant are not B's.
    own = f"{API}/seller/products/{w.b_product}"
    not_found(await b.patch(f"{own}/images/{w.a_image}", json={"alt": "x"}), "image_not_found")
    not_found(await b.delete(f"{own}/images/{w.a_image}"), "image_not_found")
    not_found(
        await b.put(f"{own}/variants/{w.b_variant}/image", json={"image_id": w.a_image}),
        "image_not_found",
    )
    not_found(
        await b.put(f"{own}/variants/{w.a_variant}/image", json={"image_id": None}),
        "variant_not_found",
    )
    # B's logo calls only ever change B's shop.
    assert (await b.delete(f"{API}/seller/shop/logo")).status_code == 204

    assert await snapshot(runtime, media, w) == before


async def test_seller_b_cannot_touch_seller_a_images_through_the_forms(
    runtime: Runtime, media: LocalMediaStorage, world: World
) -> None:
    w, b = world, world.b
    before = await snapshot(runtime, media, w)

    upload = await b.client.post(
        f"/seller/uploads/products/{w.a_product}/images",
        data={"csrf_token": b.csrf},
        files={"file": ("x.jpg", jpeg(color=BLUE), "image/jpeg")},
        headers=HTML,
    )
    assert upload.status_code == 404
    page = await b.client.get(f"/seller/products/{w.a_product}/images", headers=HTML)
    assert page.status_code == 404
    assert w.a_image not in page.text
    base = f"/seller/products/{w.a_product}/images/{w.a_image}"
    for path, fields in (
        (f"{base}/alt", {"alt": "mine"}),
        (f"{base}/move", {"position": "3"}),
        (f"{base}/delete", {}),
        (f"/seller/products/{w.a_product}/variants/{w.a_variant}/image", {"image_id": ""}),
    ):
        response = await b.client.post(path, data={**fields, "csrf_token": b.csrf}, headers=HTML)
        assert response.status_code == 404, (path, response.status_code)

    assert await snapshot(runtime, media, w) == before


async def test_anonymous_visitors_are_refused_and_change_nothing(
    runtime: Runtime, media: LocalMediaStorage, clients: Clients, world: World
) -> None:
    w = world
    before = await snapshot(runtime, media, w)
    anonymous = clients.anonymous()
    images = f"{API}/seller/products/{w.a_product}/images"
    assert (await anonymous.get(images)).status_code == 401
    assert (await anonymous.delete(f"{images}/{w.a_image}")).status_code == 401
    response = await anonymous.put(
        f"{API}/uploads/shop/logo", content=jpeg(), headers={"content-type": "image/jpeg"}
    )
    assert response.status_code == 401
    page = await anonymous.get(f"/seller/products/{w.a_product}/images", headers=HTML)
    assert page.status_code in (302, 303, 307)
    assert await snapshot(runtime, media, w) == before


async def test_a_form_without_the_csrf_token_is_refused(
    runtime: Runtime, media: LocalMediaStorage, world: World
) -> None:
    w = world
    before = await snapshot(runtime, media, w)
    response = await w.a.client.post(
        f"/seller/uploads/products/{w.a_product}/images",
        files={"file": ("x.jpg", jpeg(color=BLUE), "image/jpeg")},
        headers=HTML,
    )
    assert response.status_code == 403
    deleted = await w.a.client.post(
        f"/seller/products/{w.a_product}/images/{w.a_image}/delete", data={}, headers=HTML
    )
    assert deleted.status_code == 403
    # The API with the session cookie but without the header is refused as well.
    api = await w.a.client.delete(f"{API}/seller/products/{w.a_product}/images/{w.a_image}")
    assert api.status_code == 403
    assert await snapshot(runtime, media, w) == before
