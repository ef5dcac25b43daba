"""Privacy over HTTP: the export zip holds every record of the user and nothing of anyone
else; downloads are the owner's only; the access log pages; the "Your data" pages."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from shopreel.accounts.models import AccessToken, User, UserKey, WebSession
from shopreel.kit.time import utcnow
from shopreel.planes import CONTROL, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit, privacy
from shopreel.sovereignty.privacy_models import PrivacyExport, PrivacyRequest
from tests.fixtures.factories import PASSWORD, api_login, create_user
from tests.sovereignty.test_privacy import (
    add_access_decision,
    add_events,
    add_public_rows,
)

HTML = {"accept": "text/html"}
EXPECTED_FILES = {
    "manifest.json",
    "account.json",
    "sessions.json",
    "access_tokens.json",
    "interaction_events.json",
    "privacy_requests.json",
    "access_log.json",
    "public/shops.json",
    "public/creator_profile.json",
    "seller_application.json",
    "warehouse_addresses.json",
    "carts.json",
    "orders.json",
    "checkouts.json",
}


def fresh_client(app: FastAPI) -> httpx.AsyncClient:
    """Another browser (its own cookie jar) on the same app."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 52000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def second_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with fresh_client(app) as c:
        yield c


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


async def export_zip(client: httpx.AsyncClient, csrf: str) -> tuple[dict[str, Any], bytes]:
    created = await client.post("/api/v1/me/privacy/export", headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    body = created.json()
    download = await client.get(body["download_url"])
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["cache-control"] == "no-store"
    assert "attachment" in download.headers["content-disposition"]
    return body, download.content


async def test_export_holds_every_record_of_the_user_and_nothing_of_others(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await create_user(
        runtime, email="alice.zipped@example.com", display_name="Alice Zïpped", roles=("seller",)
    )
    bob = await create_user(runtime, email="bob.elsewhere@example.com", display_name="Bob Quux")
    carol = await create_user(
        runtime, email="carol.intl@example.com", display_name="Carol Intl", country="DE"
    )
    alice_events = await add_events(runtime, alice, 3)
    others = [*await add_events(runtime, bob, 2), *await add_events(runtime, carol, 2)]
    alice_shop, alice_profile = await add_public_rows(runtime, alice, "alicestuff")
    for user, tag in ((bob, "bobstuff"), (carol, "carolstuff")):
        others.extend(await add_public_rows(runtime, user, tag))
    alice_seq = await add_access_decision(runtime, alice.id, purpose="fraud_review")
    await add_access_decision(runtime, bob.id, purpose="bobs_purpose")
    async with runtime.databases.transaction(CONTROL) as session:
        await audit.append(  # another kind about Alice that names staff and other users
            session,
            kind="access.break_glass",
            actor_id="usr_us_staffactor000000000000000",
            subject_id=alice.id,
            region="us",
            attributes={
                "event": "requested",
                "requester_id": "usr_us_staffrequester0000000000",
                "owner_ids": [bob.id],
                "purpose": "incident_response",
            },
        )

    bob_csrf = await api_login(second_client, "bob.elsewhere@example.com")
    bob_token = await second_client.post(
        "/api/v1/me/tokens",
        json={"name": "Bob secret script", "scopes": ["account:read"]},
        headers={"X-CSRF-Token": bob_csrf},
    )
    assert bob_token.status_code == 201
    second_client.cookies.clear()  # else logging in ends Bob's session in this "browser"
    await api_login(second_client, "alice.zipped@example.com")  # Alice's second session
    csrf = await api_login(client, "alice.zipped@example.com")
    tokens = []
    for name in ("Nightly export", "Old script"):
        made = await client.post(
            "/api/v1/me/tokens",
            json={"name": name, "scopes": ["account:read"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 201
        tokens.append(made.json())
    revoked = await client.post(
        f"/api/v1/me/tokens/{tokens[1]['id']}/revoke", headers={"X-CSRF-Token": csrf}
    )
    assert revoked.status_code == 200

    body, content = await export_zip(client, csrf)
    assert body["kind"] == "export" and body["status"] == "completed" and body["law"] == "ccpa"
    files = unzip(content)
    assert set(files) == EXPECTED_FILES
    data = {name: json.loads(raw) for name, raw in files.items()}

    manifest = data["manifest.json"]
    assert manifest["user_id"] == alice.id and manifest["region"] == "us"
    assert manifest["request_id"] == body["id"] and manifest["format"] == "shopreel-export/1"
    assert manifest["generated_at"].endswith("+00:00")
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == EXPECTED_FILES - {"manifest.json"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert entry["records"] == len(data[name])

    (account,) = data["account.json"]
    assert account["email"] == "alice.zipped@example.com"
    assert account["display_name"] == "Alice Zïpped" and account["country"] == "US"
    assert account["roles"] == ["seller"] and account["created_at"]
    sessions = data["sessions.json"]
    assert len(sessions) == 2 and sorted(s["current"] for s in sessions) == [False, True]
    assert {t["name"]: bool(t["revoked_at"]) for t in data["access_tokens.json"]} == {
        "Nightly export": False,
        "Old script": True,
    }
    assert [e["id"] for e in data["interaction_events.json"]] == alice_events
    assert [r["id"] for r in data["privacy_requests.json"]] == [body["id"]]
    logged, grant = data["access_log.json"]
    assert logged["seq"] == alice_seq and logged["purpose"] == "fraud_review"
    assert logged["actor_roles"] == ["staff", "support"] and "actor_id" not in logged
    assert grant["kind"] == "access.break_glass"
    assert grant["attributes"] == {"event": "requested", "purpose": "incident_response"}
    assert [s["id"] for s in data["public/shops.json"]] == [alice_shop]
    assert [p["id"] for p in data["public/creator_profile.json"]] == [alice_profile]

    # No secrets: password hash, wrapped key, token and session hashes, token secrets.
    text = b"\n".join(files.values()).decode("utf-8")
    async with runtime.databases.session(regional("us")) as session:
        row = await session.get(User, alice.id)
        key = await session.get(UserKey, alice.id)
        hashes = list(await session.scalars(select(WebSession.token_hash)))
        hashes += list(await session.scalars(select(AccessToken.token_hash)))
    assert row is not None and key is not None
    secrets_ = [row.password_hash, key.wrapped_key.hex(), *hashes, *(t["token"] for t in tokens)]
    for secret in secrets_:
        assert secret not in text
    for field in ("password_hash", "token_hash", "wrapped_key", "email_ct", "email_index"):
        assert f'"{field}"' not in text

    # Nothing of anyone else.
    foreign = [
        "staffactor",
        "staffrequester",
        "staffmember",
        bob.id,
        carol.id,
        "bob.elsewhere@example.com",
        "carol.intl@example.com",
        "Bob Quux",
        "Carol Intl",
        "Bob secret script",
        "bobs_purpose",
        "bobstuff",
        "carolstuff",
        *others,
    ]
    for value in foreign:
        assert value not in text, value

    listed_requests = await client.get("/api/v1/me/privacy/requests")
    assert listed_requests.status_code == 200
    assert [r["id"] for r in listed_requests.json()] == [body["id"]]
    assert listed_requests.json()[0]["download_url"] == body["download_url"]


async def test_download_is_the_owners_only(
    app: FastAPI, client: httpx.AsyncClient, second_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="owner@example.com")
    await create_user(runtime, email="snoop@example.com")
    await create_user(runtime, email="faraway@example.com", country="JP")
    csrf = await api_login(client, "owner@example.com")
    body, _ = await export_zip(client, csrf)
    url = body["download_url"]

    async with fresh_client(app) as anonymous:
        assert (await anonymous.get(url)).status_code == 401
    await api_login(second_client, "snoop@example.com")
    snooped = await second_client.get(url)
    assert snooped.status_code == 404 and snooped.json()["code"] == "not_found"
    assert (await second_client.get("/api/v1/me/privacy/requests")).json() == []
    await api_login(second_client, "faraway@example.com")  # another region: still 404
    assert (await second_client.get(url)).status_code == 404
    unknown = await client.get("/api/v1/me/privacy/exports/prq_us_00000000000000000000000000")
    assert unknown.status_code == 404

    async with runtime.databases.transaction(regional("us")) as session:
        await session.execute(
            update(PrivacyExport)
            .where(PrivacyExport.request_id == body["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await client.get(url)
    assert expired.status_code == 410 and expired.json()["code"] == "export_expired"
    listed = (await client.get("/api/v1/me/privacy/requests")).json()
    assert listed[0]["download_url"] is None
    assert await privacy.purge_expired_exports(runtime, "us") == 1


async def test_export_needs_csrf_scope_and_has_a_daily_limit(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="limited@example.com")
    csrf = await api_login(client, "limited@example.com")
    no_csrf = await client.post("/api/v1/me/privacy/export")
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_failed"
    made = await client.post(
        "/api/v1/me/tokens",
        json={"name": "Reader", "scopes": ["account:read"]},
        headers={"X-CSRF-Token": csrf},
    )
    bearer = {"authorization": f"Bearer {made.json()['token']}"}
    async with fresh_client(app) as c:
        refused = await c.post("/api/v1/me/privacy/export", headers=bearer)
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
        assert (await c.get("/api/v1/me/privacy/requests", headers=bearer)).status_code == 200
        assert (await c.get("/api/v1/me/access-log", headers=bearer)).status_code == 200
    for _ in range(privacy.EXPORT_DAILY_LIMIT):
        ok = await client.post("/api/v1/me/privacy/export", headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201
    limited = await client.post("/api/v1/me/privacy/export", headers={"X-CSRF-Token": csrf})
    assert limited.status_code == 429 and limited.json()["code"] == "export_limit"
    assert int(limited.headers["retry-after"]) > 80000


async def test_access_log_api_pages_and_validates(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await create_user(runtime, email="watched@example.com")
    other = await create_user(runtime)
    seqs = [await add_access_decision(runtime, user.id, allowed=i != 1) for i in range(3)]
    await add_access_decision(runtime, other.id)
    await api_login(client, "watched@example.com")

    first = await client.get("/api/v1/me/access-log", params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert [e["seq"] for e in page["items"]] == [seqs[2], seqs[1]]
    assert [e["decision"] for e in page["items"]] == ["allowed", "denied"]
    entry = page["items"][0]
    assert entry["actor_roles"] == ["staff", "support"] and entry["actor_jurisdiction"] == "US"
    assert entry["action"] == "read" and entry["purpose"] == "support_ticket"
    assert "actor_id" not in entry and "staffmember" not in first.text
    second = await client.get(
        "/api/v1/me/access-log", params={"limit": 2, "cursor": page["next_cursor"]}
    )
    assert [e["seq"] for e in second.json()["items"]] == [seqs[0]]
    assert second.json()["next_cursor"] is None

    for params in ({"cursor": "not-a-cursor"}, {"cursor": "YTE6"}, {"limit": 0}, {"limit": 101}):
        bad = await client.get("/api/v1/me/access-log", params=params)
        assert bad.status_code == 422, params
        assert bad.headers["content-type"] == "application/problem+json"
    bad_cursor = await client.get("/api/v1/me/access-log", params={"cursor": "nope"})
    assert bad_cursor.json()["code"] == "invalid_cursor"
    client.cookies.clear()
    assert (await client.get("/api/v1/me/access-log")).status_code == 401


# ---- pages -----------------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form has no CSRF token"
    return match.group(1)


def assert_csp_safe(html: str) -> None:
    assert not re.search(r"\son[a-z]+=", html), "inline event handler breaks the CSP"
    assert " style=" not in html and "<style" not in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert html.count("<h1") == 1


async def page_login(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/login", headers=HTML)
    r = await client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": "/account",
            "csrf_token": csrf_from(form.text),
        },
        headers=HTML,
    )
    assert r.status_code == 303, r.text


async def test_your_data_page_exports_and_downloads(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await client.get("/account/privacy", headers=HTML)).status_code == 303
    await create_user(runtime, email="pages@example.com", country="FR")
    await page_login(client, "pages@example.com")
    page = await client.get("/account/privacy", headers=HTML)
    assert page.status_code == 200
    assert_csp_safe(page.text)
    assert "Download your data" in page.text and "No requests yet" in page.text
    assert 'action="/account/privacy/delete"' in page.text and "GDPR" in page.text

    no_token = await client.post("/account/privacy/export", headers=HTML)
    assert no_token.status_code == 403
    r = await client.post(
        "/account/privacy/export", data={"csrf_token": csrf_from(page.text)}, headers=HTML
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/account/privacy?ready=prq_intl_")
    ready = await client.get(location, headers=HTML)
    assert ready.status_code == 200 and "Your export is ready" in ready.text
    assert_csp_safe(ready.text)
    link = re.search(r'href="(/account/privacy/exports/[^"]+)"', ready.text)
    assert link and "Completed" in ready.text
    download = await client.get(link.group(1), headers=HTML)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert set(unzip(download.content)) == EXPECTED_FILES

    async with runtime.databases.transaction(regional("intl")) as session:
        await session.execute(update(PrivacyExport).values(expires_at=utcnow() - timedelta(1)))
    expired = await client.get("/account/privacy", headers=HTML)
    assert "Expired" in expired.text and link.group(1) not in expired.text
    gone = await client.get(link.group(1), headers=HTML)
    assert gone.status_code == 410 and "text/html" in gone.headers["content-type"]


async def test_access_log_page_lists_decisions(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await create_user(runtime, email="logpage@example.com")
    await page_login(client, "logpage@example.com")
    empty = await client.get("/account/access-log", headers=HTML)
    assert empty.status_code == 200 and "No staff access recorded" in empty.text
    for i in range(27):
        await add_access_decision(runtime, user.id, allowed=i != 26, purpose="fraud_review")
    page = await client.get("/account/access-log", headers=HTML)
    assert page.status_code == 200
    assert_csp_safe(page.text)
    assert page.text.count('data-label="Decision"') == 25
    assert "Denied" in page.text and "Allowed" in page.text and "fraud review" in page.text
    assert "Support" in page.text and "Jurisdiction US" in page.text
    older = re.search(r'href="(/account/access-log\?cursor=[^"]+)"', page.text)
    assert older
    second = await client.get(older.group(1), headers=HTML)
    assert second.text.count('data-label="Decision"') == 2 and "Newest" in second.text
    bad = await client.get("/account/access-log?cursor=broken", headers=HTML)
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


async def test_delete_form_checks_confirmation_then_deletes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await create_user(runtime, email="leaving@example.com")
    await page_login(client, "leaving@example.com")
    page = await client.get("/account/privacy", headers=HTML)
    token = csrf_from(page.text)

    wrong_word = await client.post(
        "/account/privacy/delete",
        data={"csrf_token": token, "password": PASSWORD, "confirm": "delete"},
        headers=HTML,
    )
    assert wrong_word.status_code == 422 and "Type DELETE in capital letters" in wrong_word.text
    assert_csp_safe(wrong_word.text)
    wrong_password = await client.post(
        "/account/privacy/delete",
        data={"csrf_token": token, "password": "wrong password!!", "confirm": "DELETE"},
        headers=HTML,
    )
    assert wrong_password.status_code == 403
    assert "The password is not correct." in wrong_password.text
    async with runtime.databases.session(regional("us")) as session:
        assert await session.get(UserKey, user.id) is not None

    done = await client.post(
        "/account/privacy/delete",
        data={"csrf_token": token, "password": PASSWORD, "confirm": "DELETE"},
        headers=HTML,
    )
    assert done.status_code == 200, done.text
    assert "Your account has been deleted" in done.text
    assert_csp_safe(done.text)
    reference = re.search(r"prq_us_[0-9a-z]{26}", done.text)
    assert reference
    assert "sr_session=" in done.headers["set-cookie"]
    assert 'href="/login' in done.text  # rendered logged out
    assert (await client.get("/account", headers=HTML)).status_code == 303
    async with runtime.databases.session(regional("us")) as session:
        assert await session.get(UserKey, user.id) is None
        request = await session.get(PrivacyRequest, reference.group(0))
    assert request is not None and request.kind == "delete" and request.status == "completed"
