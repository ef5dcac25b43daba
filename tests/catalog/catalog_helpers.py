"""Shared helpers of the catalog service/API/page tests: signed-in clients, a valid product
body, and snapshots of a product's rows (to prove that denied requests changed nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.catalog.models import ListingReview, PriceChange, Product, ProductImage, Variant
from shopreel.kit.ids import new_id
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.fixtures.factories import api_login

API = "/api/v1"
HTML = {"accept": "text/html"}
MUG = 2169  # Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs (not restricted)


@dataclass
class Session:
    """A signed-in browser-like client with its CSRF header."""

    client: httpx.AsyncClient
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-csrf-token": self.csrf}

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.post(path, json=json, headers=headers, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.patch(path, json=json, headers=headers, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.put(path, json=json, headers=headers, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.delete(path, headers=headers, **kwargs)

    async def form(self, path: str, data: dict[str, str]) -> httpx.Response:
        """A page form post, with the CSRF field."""
        return await self.client.post(path, data={**data, "csrf_token": self.csrf}, headers=HTML)


class Clients:
    """Signed-in sessions, one client each, closed at the end of the test."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.opened: list[httpx.AsyncClient] = []

    def anonymous(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.21", 51021))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.opened.append(client)
        return client

    async def login(self, email: str) -> Session:
        client = self.anonymous()
        return Session(client, await api_login(client, email))

    async def close(self) -> None:
        for client in self.opened:
            await client.aclose()


def product_body(**overrides: Any) -> dict[str, Any]:
    """A product that passes the default screening once it has an image."""
    body: dict[str, Any] = {
        "title": "Stoneware Mug",
        "description_html": "<p>A <strong>handmade</strong> mug.</p>",
        "category_id": MUG,
        "tags": ["kitchen", "handmade"],
        "vendor": "Clayworks",
        "option_names": ["Color"],
        "variants": [
            {"options": {"Color": "Blue"}, "sku": "MUG-BLUE", "price_cents": 2400},
            {
                "options": {"Color": "Green"},
                "sku": "MUG-GREEN",
                "price_cents": 2600,
                "compare_at_cents": 3000,
                "barcode": "4006381333931",
            },
        ],
    }
    body.update(overrides)
    return body


async def add_image(runtime: Runtime, product_id: str, shop_id: str) -> None:
    """An imported (remote) image, as the import helper writes them."""
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(
            ProductImage(
                id=new_id("img"),
                product_id=product_id,
                shop_id=shop_id,
                position=1,
                alt="A mug",
                source_url="https://cdn.example.com/mug.jpg",
                status="remote",
            )
        )


async def snapshot(runtime: Runtime, product_id: str) -> dict[str, Any]:
    """Every catalog row that belongs to the product, as plain tuples."""
    async with runtime.databases.session(GLOBAL) as session:
        product = await session.get(Product, product_id)
        variants = await session.scalars(
            select(Variant).where(Variant.product_id == product_id).order_by(Variant.id)
        )
        variant_rows = list(variants)
        ids = [v.id for v in variant_rows]
        history = await session.scalars(
            select(PriceChange).where(PriceChange.variant_id.in_(ids)).order_by(PriceChange.id)
        )
        reviews = await session.scalars(
            select(ListingReview)
            .where(ListingReview.product_id == product_id)
            .order_by(ListingReview.id)
        )
        return {
            "product": None
            if product is None
            else (
                product.title,
                product.handle,
                product.status,
                product.version,
                product.description_html,
                product.tags,
                product.category_id,
                product.option_names,
                product.review_reasons,
            ),
            "variants": [
                (v.id, v.options_key, v.sku, v.price_cents, v.compare_at_cents, v.barcode)
                for v in variant_rows
            ],
            "history": [(h.id, h.price_cents, h.reason) for h in history],
            "reviews": [(r.id, r.outcome) for r in reviews],
        }
