"""POST/GET /api/v1/seller/imports and the /seller/import page: own shop only, 413 for huge
bodies, scopes, and nothing changed by denied requests."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from shopreel.catalog.importer import MAX_IMPORT_BYTES
from shopreel.catalog.models import CatalogImport, Product, Variant
from shopreel.planes import GLOBAL
from shopreel.runtime import Runtime
from tests.catalog.test_importer import csv_bytes, tee_rows
from tests.fixtures.factories import api_login, create_user
from tests.fixtures.sellers import create_product, create_seller

CSV = {"Content-Type": "text/csv"}


async def totals(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.databases.session(GLOBAL) as session:
        return tuple(  # type: ignore[return-value]
            [
                int(await session.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Product, Variant, CatalogImport)
            ]
        )


async def shop_products(runtime: Runtime, shop_id: str) -> list[tuple[str, str, int]]:
    async with runtime.databases.session(GLOBAL) as session:
        rows = await session.execute(
            select(Product.handle, Product.title, Product.version)
            .where(Product.shop_id == shop_id)
            .order_by(Product.handle)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def test_raw_csv_import_report_history_and_detail(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    csrf = await api_login(client, seller.email)
    headers = CSV | {"X-CSRF-Token": csrf}
    data = csv_bytes(tee_rows())
    dry = await client.post("/api/v1/seller/imports?dry_run=true", content=data, headers=headers)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["created"] == 1
    assert await totals(runtime) == (0, 0, 0)

    created = await client.post("/api/v1/seller/imports", content=data, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert {"products", "variants", "images", "created", "updated", "unchanged", "errors"} <= set(
        body
    )
    assert (body["products"], body["variants"], body["images"], body["created"]) == (1, 2, 2, 1)
    assert await shop_products(runtime, seller.shop.id) == [("tee", "Classic tee", 1)]

    again = await client.post("/api/v1/seller/imports", content=data, headers=headers)
    assert again.json()["unchanged"] == 1

    listing = await client.get("/api/v1/seller/imports")
    assert listing.status_code == 200
    items = listing.json()["items"]
    assert [item["id"] for item in items] == [again.json()["import_id"], body["import_id"]]
    assert items[1]["created"] == 1 and items[0]["unchanged"] == 1
    detail = await client.get(f"/api/v1/seller/imports/{body['import_id']}")
    assert detail.status_code == 200
    assert detail.json()["report"]["results"][0]["handle"] == "tee"


async def test_multipart_upload_with_form_fields(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    csrf = await api_login(client, seller.email)
    rows = tee_rows(price="1500")
    rows[1]["Variant Price"] = "2000"
    rows[1]["Variant Compare At Price"] = ""
    response = await client.post(
        "/api/v1/seller/imports",
        files={"file": ("shop.csv", csv_bytes(rows), "text/csv")},
        data={"currency": "JPY"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    assert response.json()["currency"] == "JPY" and response.json()["filename"] == "shop.csv"
    async with runtime.databases.session(GLOBAL) as session:
        prices = sorted(await session.scalars(select(Variant.price_cents)))
        currencies = set(await session.scalars(select(Variant.currency)))
    assert prices == [1500, 2000] and currencies == {"JPY"}


async def test_fatal_file_is_a_problem_with_the_report(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    csrf = await api_login(client, seller.email)
    response = await client.post(
        "/api/v1/seller/imports",
        content="Handle,Title\ncaf\u00e9,x\n".encode("latin-1"),
        headers=CSV | {"X-CSRF-Token": csrf},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "wrong_encoding" and "UTF-8" in problem["detail"]
    assert problem["report"]["created"] == 0
    assert (await totals(runtime))[:2] == (0, 0)


async def test_huge_body_is_413_before_anything_is_read(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    csrf = await api_login(client, seller.email)
    huge = b"Handle,Title\n" + b"x" * MAX_IMPORT_BYTES
    response = await client.post(
        "/api/v1/seller/imports", content=huge, headers=CSV | {"X-CSRF-Token": csrf}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "too_large"
    assert await totals(runtime) == (0, 0, 0)


async def test_seller_b_cannot_touch_seller_a(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await create_seller(runtime)
    bob = await create_seller(runtime)
    await create_product(runtime, alice.shop, handle="tee", title="Alice's tee")
    alice_csrf = await api_login(client, alice.email)
    first = await client.post(
        "/api/v1/seller/imports",
        content=csv_bytes(tee_rows(handle="hat")),
        headers=CSV | {"X-CSRF-Token": alice_csrf},
    )
    alice_import = first.json()["import_id"]
    alice_before = await shop_products(runtime, alice.shop.id)
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": alice_csrf})

    bob_csrf = await api_login(client, bob.email)
    # there is no way to name Alice's shop: the same handle lands in Bob's own shop
    response = await client.post(
        f"/api/v1/seller/imports?shop_id={alice.shop.id}",
        content=csv_bytes(tee_rows()),
        headers=CSV | {"X-CSRF-Token": bob_csrf},
    )
    assert response.status_code == 201
    assert await shop_products(runtime, alice.shop.id) == alice_before
    assert [h for h, _, _ in await shop_products(runtime, bob.shop.id)] == ["tee"]
    # Alice's report is invisible to Bob
    assert (await client.get(f"/api/v1/seller/imports/{alice_import}")).status_code == 404
    ids = [item["id"] for item in (await client.get("/api/v1/seller/imports")).json()["items"]]
    assert alice_import not in ids
    page = await client.get(f"/seller/import?id={alice_import}")
    assert page.status_code == 404


async def test_user_without_shop_and_token_scopes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="shopper@example.com")
    csrf = await api_login(client, "shopper@example.com")
    response = await client.post(
        "/api/v1/seller/imports",
        content=csv_bytes(tee_rows()),
        headers=CSV | {"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403 and response.json()["code"] == "shop_required"
    assert (await client.get("/api/v1/seller/imports")).json()["code"] == "shop_required"
    assert await totals(runtime) == (0, 0, 0)
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})

    seller = await create_seller(runtime)
    csrf = await api_login(client, seller.email)
    secrets = {}
    for scopes in (["catalog:read"], ["catalog:write"]):
        created = await client.post(
            "/api/v1/me/tokens",
            json={"name": scopes[0], "scopes": scopes},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
        secrets[scopes[0]] = created.json()["token"]
    bare = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with bare:
        read_only = {"Authorization": f"Bearer {secrets['catalog:read']}"}
        denied = await bare.post(
            "/api/v1/seller/imports", content=csv_bytes(tee_rows()), headers=CSV | read_only
        )
        assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
        assert await totals(runtime) == (0, 0, 0)
        assert (await bare.get("/api/v1/seller/imports", headers=read_only)).status_code == 200
        writer = {"Authorization": f"Bearer {secrets['catalog:write']}"}
        ok = await bare.post(
            "/api/v1/seller/imports", content=csv_bytes(tee_rows()), headers=CSV | writer
        )
        assert ok.status_code == 201 and ok.json()["created"] == 1


async def test_cookie_write_without_csrf_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    await api_login(client, seller.email)
    response = await client.post(
        "/api/v1/seller/imports", content=csv_bytes(tee_rows()), headers=CSV
    )
    assert response.status_code == 403
    assert await totals(runtime) == (0, 0, 0)


def page_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


async def test_import_page_upload_shows_report_and_history(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    await api_login(client, seller.email)
    page = await client.get("/seller/import")
    assert page.status_code == 200 and "Import from Shopify" in page.text
    token = page_csrf(page.text)
    rows = tee_rows() + tee_rows(handle="bad")
    rows[2]["Variant Price"] = "abc"
    posted = await client.post(
        "/seller/import",
        files={"file": ("shop.csv", csv_bytes(rows), "text/csv")},
        data={"csrf_token": token, "currency": "USD"},
    )
    assert posted.status_code == 200, posted.text
    html = posted.text
    assert 'data-count="created">1<' in html and 'data-count="skipped">1<' in html
    assert "invalid_price" in html and "Variant Price" in html
    assert "shop.csv" in html  # history
    assert [h for h, _, _ in await shop_products(runtime, seller.shop.id)] == ["tee"]

    dry = await client.post(
        "/seller/import",
        files={"file": ("x.csv", csv_bytes(tee_rows(handle="new")), "text/csv")},
        data={"csrf_token": token, "dry_run": "on"},
    )
    assert dry.status_code == 200 and "Dry run" in dry.text
    assert [h for h, _, _ in await shop_products(runtime, seller.shop.id)] == ["tee"]

    missing_csrf = await client.post(
        "/seller/import", files={"file": ("x.csv", csv_bytes(tee_rows(handle="new")), "text/csv")}
    )
    assert missing_csrf.status_code == 403
    assert [h for h, _, _ in await shop_products(runtime, seller.shop.id)] == ["tee"]


async def test_export_api_round_trips_and_is_own_shop_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    other = await create_seller(runtime)
    await create_product(runtime, other.shop, title="Not yours")
    csrf = await api_login(client, seller.email)
    data = csv_bytes(tee_rows())
    created = await client.post(
        "/api/v1/seller/imports", content=data, headers=CSV | {"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201
    exported = await client.get("/api/v1/seller/catalog/export.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert b"Not yours" not in exported.content and b"Classic tee" in exported.content
    before = await shop_products(runtime, seller.shop.id)
    # the export is the import's own format: importing it back changes nothing
    again = await client.post(
        "/api/v1/seller/imports", content=exported.content, headers=CSV | {"X-CSRF-Token": csrf}
    )
    assert again.status_code == 201, again.text
    assert (again.json()["unchanged"], again.json()["created"], again.json()["updated"]) == (
        1,
        0,
        0,
    )
    assert await shop_products(runtime, seller.shop.id) == before
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    await create_user(runtime, email="no-shop@example.com")
    await api_login(client, "no-shop@example.com")
    refused = await client.get("/api/v1/seller/catalog/export.csv")
    assert (refused.status_code, refused.json()["code"]) == (403, "shop_required")
