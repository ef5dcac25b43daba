"""Warehouses through the JSON API: CRUD, validation, limits, encryption at rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

from shopreel.inventory import rules
from shopreel.inventory.models import Warehouse, WarehouseAddress
from shopreel.planes import GLOBAL, regional
from shopreel.runtime import Runtime
from tests.fixtures.factories import api_login, create_user
from tests.fixtures.sellers import create_product, create_seller
from tests.inventory.helpers import (
    WAREHOUSE,
    adjust,
    create_warehouse,
    line,
    snapshot,
    token_for,
)

API = "/api/v1/seller/warehouses"


def _file_and_wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_create_list_get_update_a_warehouse(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    headers = await token_for(app, seller.email)
    created = await create_warehouse(client, headers, state="il", name="  Main  ")
    assert created["name"] == "Main" and created["state"] == "IL"
    assert created["line1"] == WAREHOUSE["line1"] and created["line2"] == "Unit 2"
    assert created["shop_id"] == seller.shop.id and created["active"] is True
    assert created["id"].startswith("wh_")

    listed = await client.get(API, headers=headers)
    assert listed.status_code == 200
    assert [w["id"] for w in listed.json()["items"]] == [created["id"]]
    assert listed.json()["limit"] == rules.MAX_WAREHOUSES_PER_SHOP

    one = await client.get(f"{API}/{created['id']}", headers=headers)
    assert one.json()["line1"] == WAREHOUSE["line1"]

    patched = await client.patch(
        f"{API}/{created['id']}",
        json={"line1": "1 New Road", "handling_days": 0, "city": "Chicago", "postal_code": "60601"},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["line1"], body["line2"], body["handling_days"], body["city"]) == (
        "1 New Road",
        "Unit 2",
        0,
        "Chicago",
    )
    again = await client.get(f"{API}/{created['id']}", headers=headers)
    assert again.json()["line1"] == "1 New Road"


async def test_validation_errors_are_problems_with_codes(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    headers = await token_for(app, seller.email)
    cases = [
        ({"state": "XX"}, "invalid_address", "state"),
        ({"postal_code": "1234"}, "invalid_address", "postal_code"),
        ({"country": "QQ"}, "invalid_address", "country"),
        ({"handling_days": 31}, "validation_failed", "handling_days"),
    ]
    for overrides, code, field in cases:
        response = await client.post(API, json={**WAREHOUSE, **overrides}, headers=headers)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (response.json()["code"], response.json()["field"]) == (code, field)
    unknown = await client.post(API, json={**WAREHOUSE, "owner": "x"}, headers=headers)
    assert unknown.status_code == 422
    created = await create_warehouse(client, headers)
    bad_patch = await client.patch(
        f"{API}/{created['id']}", json={"postal_code": "nope"}, headers=headers
    )
    assert bad_patch.status_code == 422
    assert (await client.get(f"{API}/{created['id']}", headers=headers)).json()[
        "postal_code"
    ] == "62704"
    assert len((await client.get(API, headers=headers)).json()["items"]) == 1


async def test_names_are_unique_per_shop_and_the_limit_holds(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    headers = await token_for(app, seller.email)
    first = await create_warehouse(client, headers, name="Main")
    taken = await client.post(API, json={**WAREHOUSE, "name": " main "}, headers=headers)
    assert taken.status_code == 409 and taken.json()["code"] == "warehouse_name_taken"
    second = await create_warehouse(client, headers, name="Second")
    rename = await client.patch(f"{API}/{second['id']}", json={"name": "MAIN"}, headers=headers)
    assert rename.status_code == 409
    same = await client.patch(f"{API}/{first['id']}", json={"name": "Main"}, headers=headers)
    assert same.status_code == 200
    for number in range(rules.MAX_WAREHOUSES_PER_SHOP - 2):
        await create_warehouse(client, headers, name=f"W{number}")
    over = await client.post(API, json={**WAREHOUSE, "name": "One too many"}, headers=headers)
    assert over.status_code == 409 and over.json()["code"] == "warehouse_limit_reached"
    listed = (await client.get(API, headers=headers)).json()["items"]
    assert len(listed) == rules.MAX_WAREHOUSES_PER_SHOP


async def test_a_warehouse_with_stock_cannot_be_deactivated(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    headers = await token_for(app, seller.email)
    _, (variant,) = await create_product(runtime, seller.shop)
    warehouse = await create_warehouse(client, headers)
    assert (await adjust(client, headers, line(variant.id, warehouse["id"], 3))).status_code == 200

    before = await snapshot(runtime)
    refused = await client.post(f"{API}/{warehouse['id']}/deactivate", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "warehouse_has_stock" and refused.json()["on_hand"] == 3
    assert await snapshot(runtime) == before

    assert (
        await adjust(client, headers, line(variant.id, warehouse["id"], -3, "adjustment"))
    ).status_code == 200
    done = await client.post(f"{API}/{warehouse['id']}/deactivate", headers=headers)
    assert done.status_code == 200 and done.json()["active"] is False
    # an inactive warehouse takes no stock
    inactive = await adjust(client, headers, line(variant.id, warehouse["id"], 1))
    assert inactive.status_code == 409 and inactive.json()["code"] == "warehouse_inactive"
    listed = await client.get("/api/v1/seller/inventory", headers=headers)
    assert listed.json()["items"] == []  # inactive warehouses are not listed by default
    back = await client.post(f"{API}/{warehouse['id']}/activate", headers=headers)
    assert back.status_code == 200 and back.json()["active"] is True
    assert (await adjust(client, headers, line(variant.id, warehouse["id"], 1))).status_code == 200


async def test_the_street_address_is_encrypted_in_the_owners_region(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    seller = await create_seller(runtime, country="DE")  # home region intl
    headers = await token_for(app, seller.email)
    street = "Geheimstrasse 42 Hinterhaus"
    created = await create_warehouse(
        client, headers, line1=street, country="DE", state="", postal_code="10115", city="Berlin"
    )
    async with runtime.databases.session(regional("intl")) as session:
        address = await session.get(WarehouseAddress, created["id"])
        assert address is not None
        assert address.region == "intl" and address.owner_id == seller.user.id
        assert street.encode() not in address.address_ct
        table = await session.execute(text("SELECT * FROM warehouse_addresses"))
        raw = repr(table.all())
        assert "Geheimstrasse" not in raw
    async with runtime.databases.session(regional("us")) as session:
        assert (
            await session.execute(text("SELECT count(*) FROM warehouse_addresses"))
        ).scalar() == 0
    async with runtime.databases.session(GLOBAL) as session:
        warehouse = await session.get(Warehouse, created["id"])
        assert warehouse is not None and warehouse.city == "Berlin"
        raw_global = repr((await session.execute(text("SELECT * FROM warehouses"))).all())
        assert "Geheimstrasse" not in raw_global
    # the owner reads it back decrypted
    read = await client.get(f"{API}/{created['id']}", headers=headers)
    assert read.json()["line1"] == street
    assert address.address_ct[:1] == b"\x01"  # field ciphertext format version 1

    url = runtime.databases.url(regional("intl"))
    if url.startswith("sqlite"):
        # raw bytes of the regional database file and its write-ahead log
        blob = _file_and_wal(Path(url.split(":///", 1)[1]))
        assert created["id"].encode() in blob  # positive control: the row is in this file
        assert b"Geheimstrasse" not in blob
        assert "Geheimstrasse".encode("utf-16-le") not in blob


async def test_shoppers_anonymous_and_wrong_scopes_are_refused(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    seller = await create_seller(runtime)
    owner = await token_for(app, seller.email)
    warehouse = await create_warehouse(client, owner)
    before = await snapshot(runtime)

    anonymous = await client.get(API)
    assert anonymous.status_code == 401
    assert (await client.post(API, json=WAREHOUSE)).status_code == 401

    await create_user(runtime, email="shopper@example.com")
    shopper = await token_for(app, "shopper@example.com")
    for response in (
        await client.get(API, headers=shopper),
        await client.post(API, json=WAREHOUSE, headers=shopper),
        await client.get(f"{API}/{warehouse['id']}", headers=shopper),
        await client.get("/api/v1/seller/inventory", headers=shopper),
    ):
        assert response.status_code == 403 and response.json()["code"] == "shop_required"

    read_only = await token_for(app, seller.email, ("catalog:read",))
    assert (await client.get(API, headers=read_only)).status_code == 200
    denied = await client.post(f"{API}/{warehouse['id']}/deactivate", headers=read_only)
    assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
    account_only = await token_for(app, seller.email, ("account:read",))
    assert (await client.get(API, headers=account_only)).status_code == 403
    assert await snapshot(runtime) == before


async def test_cookie_writes_need_csrf(client: httpx.AsyncClient, runtime: Runtime) -> None:
    seller = await create_seller(runtime)
    csrf = await api_login(client, seller.email)
    missing = await client.post(API, json=WAREHOUSE)
    assert missing.status_code == 403 and missing.json()["code"] == "csrf_failed"
    async with runtime.databases.session(GLOBAL) as session:
        assert list(await session.scalars(select(Warehouse.id))) == []
    ok = await client.post(API, json=WAREHOUSE, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


async def test_a_seller_without_a_shop_is_refused_and_suspended_shops_are_read_only(
    client: httpx.AsyncClient, app: Any, runtime: Runtime
) -> None:
    await create_user(runtime, email="new-seller@example.com", roles=("shopper", "seller"))
    headers = await token_for(app, "new-seller@example.com")
    response = await client.get(API, headers=headers)
    assert response.status_code == 403 and response.json()["code"] == "shop_required"

    from shopreel.catalog.models import ShopStatus

    suspended = await create_seller(runtime, status=ShopStatus.SUSPENDED)
    s_headers = await token_for(app, suspended.email)
    assert (await client.get(API, headers=s_headers)).status_code == 200
    refused = await client.post(API, json=WAREHOUSE, headers=s_headers)
    assert refused.status_code == 403 and refused.json()["code"] == "shop_suspended"

    pending = await create_seller(runtime, status=ShopStatus.PENDING)
    p_headers = await token_for(app, pending.email)
    # onboarding: a seller adds a warehouse before approval
    assert (await client.post(API, json=WAREHOUSE, headers=p_headers)).status_code == 201
