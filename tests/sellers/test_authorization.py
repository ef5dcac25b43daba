"""Who may do what with seller applications and shops; every refusal leaves the data as it
was (raw rows compared before and after) and denied broker reads are audited."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shopreel.runtime import Runtime
from tests.sellers.conftest import (
    API,
    Browser,
    Login,
    application_row,
    apply,
    audit_kinds,
    shop_row,
    submitted_application,
)


async def snapshot(runtime: Runtime, browser: Browser) -> tuple[Any, Any]:
    return (
        await application_row(runtime, browser.id, browser.user.region),
        await shop_row(runtime, browser.id),
    )


async def test_a_seller_cannot_touch_another_sellers_application_or_shop(
    login: Login, runtime: Runtime
) -> None:
    first = await login()
    await submitted_application(first, "first-shop")
    other = await login()
    before = await snapshot(runtime, first)

    # Every seller endpoint acts on the caller's own application and shop: the other seller
    # has none, and no id in a path could name someone else's.
    for method, path, body in [
        ("GET", "/seller/application", None),
        ("PATCH", "/seller/application", {"legal_name": "Hijack"}),
        ("POST", "/seller/application/submit", None),
        ("GET", "/seller/shop", None),
        ("PATCH", "/seller/shop", {"name": "Hijacked"}),
        ("PUT", "/seller/shop/shipping", {"default_handling_days": 1, "flat_shipping_cents": 0}),
    ]:
        response = await other.send(method, path, body)
        # no application of their own (404) or no shop of their own (403): never the other's
        assert (response.status_code, response.json()["code"]) in {
            (404, "application_not_found"),
            (403, "shop_required"),
        }, (method, path, response.text)
    checklist = (await other.get("/seller/checklist")).json()
    assert not any(item["done"] for item in checklist["items"])

    # With a shop of their own, they still only ever change their own.
    await apply(other, "other-shop")
    renamed = await other.patch("/seller/shop", {"name": "Mine"})
    assert renamed.json()["handle"] == "other-shop"
    patched = await other.patch("/seller/application", {"legal_name": "Other LLC"})
    assert patched.json()["shop"]["handle"] == "other-shop"
    # A seller is not staff: no queue, no decisions, not even on their own application.
    first_id = (await first.get("/seller/application")).json()["id"]
    for browser in (first, other):
        assert (await browser.get("/staff/seller-applications")).status_code == 403
        for action in ("approve", "reject", "suspend", "reinstate"):
            response = await browser.post(
                f"/staff/seller-applications/{first_id}/{action}",
                {"reasons": ["x"]}
                if action == "reject"
                else {"reason": "x"}
                if action == "suspend"
                else None,
            )
            assert response.status_code == 403, (action, response.text)
        detail = await browser.get(
            f"/staff/seller-applications/{first_id}", purpose="seller_verification"
        )
        assert detail.status_code == 403
    assert await snapshot(runtime, first) == before


@pytest.mark.parametrize(
    ("label", "jurisdiction", "country", "roles", "code"),
    [
        ("non-staff", None, "US", (), "permission_denied"),
        ("staff without seller_ops", "US", "US", ("support", "trust_officer"), "not_seller_ops"),
        ("seller_ops of another region", "SG", "SG", ("seller_ops",), "wrong_region"),
    ],
)
async def test_only_seller_ops_of_the_region_review(
    login: Login,
    runtime: Runtime,
    label: str,
    jurisdiction: str | None,
    country: str,
    roles: tuple[str, ...],
    code: str,
) -> None:
    seller = await login()
    application = await submitted_application(seller, "reviewed-shop")
    outsider = await login(country=country, jurisdiction=jurisdiction, staff_roles=roles)
    before = await snapshot(runtime, seller)
    audit_before = await audit_kinds(runtime)

    queue = await outsider.get("/staff/seller-applications")
    if code == "wrong_region":
        # their own region's queue, where the US application is not
        assert queue.status_code == 200 and queue.json() == []
    else:
        assert queue.status_code == 403 and queue.json()["code"] == code, label
    detail = await outsider.get(
        f"/staff/seller-applications/{application['id']}", purpose="seller_verification"
    )
    assert detail.status_code == 403 and detail.json()["code"] == code, label
    assert "Quixotic" not in detail.text
    for action, body in [
        ("approve", None),
        ("reject", {"reasons": ["no"]}),
        ("suspend", {"reason": "no"}),
        ("reinstate", None),
    ]:
        response = await outsider.post(
            f"/staff/seller-applications/{application['id']}/{action}", body
        )
        assert response.status_code == 403 and response.json()["code"] == code, (label, action)
    assert await snapshot(runtime, seller) == before
    assert await audit_kinds(runtime) == audit_before  # nothing was decided, nothing read


async def test_intl_reviewer_sees_only_intl_applications(login: Login, runtime: Runtime) -> None:
    us_seller = await login()
    await submitted_application(us_seller, "us-shop")
    sg_seller = await login(country="SG")
    sg_app = await submitted_application(sg_seller, "sg-shop")
    sg_staff = await login(country="SG", jurisdiction="SG", staff_roles=("seller_ops",))
    queue = await sg_staff.get("/staff/seller-applications")
    assert [row["shop_handle"] for row in queue.json()] == ["sg-shop"]
    approved = await sg_staff.post(f"/staff/seller-applications/{sg_app['id']}/approve")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    us_staff = await login(jurisdiction="US", staff_roles=("seller_ops",))
    assert [
        r["shop_handle"] for r in (await us_staff.get("/staff/seller-applications")).json()
    ] == ["us-shop"]


async def test_the_broker_decides_and_audits_every_read(login: Login, runtime: Runtime) -> None:
    seller = await login()
    application = await submitted_application(seller, "broker-shop")
    reviewer = await login(jurisdiction="US", staff_roles=("seller_ops",))
    path = f"/staff/seller-applications/{application['id']}"

    for purpose in ("", "curiosity", "marketing"):
        denied = await reviewer.get(path, purpose=purpose)
        assert denied.status_code == 403 and denied.json()["code"] == "access_denied", purpose
        assert "Quixotic" not in denied.text
    decisions = [a for k, a in await audit_kinds(runtime) if k == "access.decision"]
    assert [(d["purpose"], d["allowed"]) for d in decisions] == [
        ("", False),
        ("curiosity", False),
        ("marketing", False),
    ]
    assert all(d["category"] == "seller_application" for d in decisions)

    allowed = await reviewer.get(path, purpose="seller_verification")
    assert allowed.status_code == 200
    # seller_verification opens seller applications only, and seller_ops opens nothing else.
    other = await reviewer.client.post(
        f"{API}/staff/personal-data",
        json={"owner_id": seller.id, "category": "account", "purpose": "seller_verification"},
        headers={"X-CSRF-Token": reviewer.csrf},
    )
    assert other.status_code == 403
    assert other.json()["reasons"] == ["forbid-seller-ops-outside-applications"]
    support_case = await reviewer.client.post(
        f"{API}/staff/personal-data",
        json={"owner_id": seller.id, "category": "account", "purpose": "support_case"},
        headers={"X-CSRF-Token": reviewer.csrf},
    )
    assert support_case.status_code == 403
    # A trust officer may not use seller_verification for account data either.
    officer = await login(jurisdiction="US", staff_roles=("trust_officer",))
    officer_read = await officer.client.post(
        f"{API}/staff/personal-data",
        json={"owner_id": seller.id, "category": "account", "purpose": "seller_verification"},
        headers={"X-CSRF-Token": officer.csrf},
    )
    assert officer_read.status_code == 403
    assert await application_row(runtime, seller.id, "us") is not None


async def test_staff_cannot_decide_their_own_application(login: Login, runtime: Runtime) -> None:
    reviewer = await login(jurisdiction="US", staff_roles=("seller_ops",))
    application = await submitted_application(reviewer, "staff-side-shop")
    before = await snapshot(runtime, reviewer)
    response = await reviewer.post(f"/staff/seller-applications/{application['id']}/approve")
    assert response.status_code == 403 and response.json()["code"] == "own_application"
    assert await snapshot(runtime, reviewer) == before
    colleague = await login(jurisdiction="US", staff_roles=("seller_ops",))
    approved = await colleague.post(f"/staff/seller-applications/{application['id']}/approve")
    assert approved.status_code == 200


async def test_staff_decisions_need_a_browser_session(
    app: FastAPI, login: Login, runtime: Runtime
) -> None:
    seller = await login()
    application = await submitted_application(seller, "token-shop")
    reviewer = await login(jurisdiction="US", staff_roles=("seller_ops",))
    created = await reviewer.post(
        "/me/tokens", {"name": "script", "scopes": ["account:read", "account:write"]}
    )
    token = created.json()["token"]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.30", 54000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as bare:
        response = await bare.post(
            f"{API}/staff/seller-applications/{application['id']}/approve",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 403 and response.json()["code"] == "session_required"
    row = await application_row(runtime, seller.id, "us")
    assert row is not None and row["state"] == "submitted"


async def test_tokens_need_the_right_scopes(app: FastAPI, login: Login) -> None:
    seller = await login()
    await apply(seller, "scoped-shop")
    created = await seller.post("/me/tokens", {"name": "ro", "scopes": ["catalog:read"]})
    token = created.json()["token"]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.31", 54001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as bare:
        headers = {"Authorization": f"Bearer {token}"}
        assert (await bare.get(f"{API}/seller/shop", headers=headers)).status_code == 200
        assert (await bare.get(f"{API}/seller/checklist", headers=headers)).status_code == 200
        read = await bare.get(f"{API}/seller/application", headers=headers)
        assert read.status_code == 403 and read.json()["code"] == "insufficient_scope"
        write = await bare.patch(f"{API}/seller/shop", json={"name": "x"}, headers=headers)
        assert write.status_code == 403
        anonymous = await bare.get(f"{API}/seller/application")
        assert anonymous.status_code == 401
