"""Helpers of the media and image-upload tests: images generated with Pillow, signed-in
clients, and snapshots of a product's image rows and of the files in storage."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from PIL import ExifTags, Image
from sqlalchemy import select

from shopreel.catalog.models import ProductImage, Shop, Variant
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.fixtures.factories import api_login

API = "/api/v1"
RED = (220, 20, 20)
BLUE = (20, 20, 220)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def picture(width: int = 64, height: int = 48, color: tuple[int, int, int] = RED) -> Image.Image:
    """Left half ``color``, right half blue: distinct colours make distinct hashes."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(color, (0, 0, width // 2, height))
    return image


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.Model] = "Model X"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 42.0)
    return exif.tobytes()


def jpeg(color: tuple[int, int, int] = RED, size: tuple[int, int] = (64, 48)) -> bytes:
    return encode(picture(*size, color=color), "JPEG", quality=90)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A real 1x1 PNG whose IHDR claims ``width x height`` (with a valid CRC)."""
    data = bytearray(encode(Image.new("RGB", (1, 1), RED), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def files_under(root: Path) -> list[str]:
    """Every stored file, as keys, temporary files included (they would start with a dot)."""
    if not root.exists():
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@dataclass
class Session:
    """A signed-in client sending its CSRF token on writes."""

    client: httpx.AsyncClient
    csrf: str

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, str]:
        return {"x-csrf-token": self.csrf, **kwargs.pop("headers", {})}

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, headers=self._headers(kwargs), **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.put(path, headers=self._headers(kwargs), **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.patch(path, headers=self._headers(kwargs), **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(path, headers=self._headers(kwargs), **kwargs)

    async def upload(
        self, product_id: str, data: bytes, *, filename: str = "photo.jpg", alt: str | None = None
    ) -> httpx.Response:
        form = {"alt": alt} if alt is not None else None
        return await self.post(
            f"{API}/uploads/products/{product_id}/images",
            files={"file": (filename, data, "image/jpeg")},
            data=form,
        )


class Clients:
    """One client per signed-in user, closed at the end of the test."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.opened: list[httpx.AsyncClient] = []

    def anonymous(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.31", 51031))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.opened.append(client)
        return client

    async def login(self, email: str) -> Session:
        client = self.anonymous()
        return Session(client, await api_login(client, email))

    async def close(self) -> None:
        for client in self.opened:
            await client.aclose()


async def image_rows(runtime: Runtime, product_id: str) -> list[dict[str, Any]]:
    async with runtime.databases.transaction(GLOBAL) as session:
        rows = await session.scalars(
            select(ProductImage)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.position, ProductImage.id)
        )
        return [
            {
                "id": row.id,
                "position": row.position,
                "alt": row.alt,
                "status": row.status,
                "storage_key": row.storage_key,
                "thumbnails": dict(row.thumbnails or {}),
                "sha256": row.sha256,
            }
            for row in rows
        ]


async def variant_image(runtime: Runtime, variant_id: str) -> str | None:
    async with runtime.databases.transaction(GLOBAL) as session:
        return await session.scalar(select(Variant.image_id).where(Variant.id == variant_id))


async def shop_logo(runtime: Runtime, shop_id: str) -> str | None:
    async with runtime.databases.transaction(GLOBAL) as session:
        return await session.scalar(select(Shop.logo_key).where(Shop.id == shop_id))
