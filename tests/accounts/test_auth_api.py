"""Accounts API: sign-up, login, sessions, tokens, throttling, reset."""

from __future__ import annotations

import email
import email.message
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import extract_parameters
from sqlalchemy import func, select

from shopreel.accounts.models import AccessToken, User, WebSession
from shopreel.kit import time as shop_time
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.fixtures.factories import PASSWORD, api_login, create_user, outbox


async def test_sign_up_places_user_in_home_region(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await client.post(
        "/api/v1/auth/signup",
        json={
            "email": "Ada@Example.com ",
            "password": PASSWORD,
            "display_name": "Ada",
            "country": "de",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["region"] == "intl" and body["country"] == "DE"
    assert body["email"] == "ada@example.com" and body["roles"] == ["shopper"]
    async with runtime.databases.session(regional("intl")) as session:
        user = await session.get(User, body["id"])
    assert user is not None
    params = extract_parameters(user.password_hash)
    assert user.password_hash.startswith("$argon2id$")
    assert params.memory_cost >= 19456 and params.time_cost >= 2
    async with runtime.databases.session(regional("us")) as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_duplicate_email_is_409_even_across_regions(client: httpx.AsyncClient) -> None:
    first = {"email": "dup@example.com", "password": PASSWORD, "display_name": "A", "country": "US"}
    assert (await client.post("/api/v1/auth/signup", json=first)).status_code == 201
    second = {**first, "email": "DUP@example.com", "country": "FR"}
    response = await client.post("/api/v1/auth/signup", json=second)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "email_taken"


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"password": "short"}, "weak_password"),
        ({"country": "XX"}, "invalid_country"),
        ({"email": "not-an-email"}, "validation_failed"),
        ({"roles": ["staff"]}, "validation_failed"),
        ({"unexpected": 1}, "validation_failed"),
    ],
)
async def test_sign_up_bad_input_is_problem_json(
    client: httpx.AsyncClient, runtime: Runtime, patch: dict[str, object], code: str
) -> None:
    body = {
        "email": "bad@example.com",
        "password": PASSWORD,
        "display_name": "B",
        "country": "US",
        **patch,
    }
    response = await client.post("/api/v1/auth/signup", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    for region in ("us", "intl"):
        async with runtime.databases.session(regional(region)) as session:
            assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_login_rotates_session_id(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await create_user(runtime, email="rot@example.com")
    await api_login(client, "rot@example.com")
    first = client.cookies["sr_session"]
    await api_login(client, "rot@example.com")
    second = client.cookies["sr_session"]
    assert first != second
    assert len(second.split(".", 1)[1]) >= 22  # >= 128 bits, URL-safe base64
    async with runtime.databases.session(regional("us")) as session:
        sessions = list(
            await session.scalars(select(WebSession).where(WebSession.user_id == user.id))
        )
    # The earlier session was ended at the second login; only the new one remains.
    assert len(sessions) == 1
    raw = second.split(".", 1)[1]
    assert sessions[0].token_hash != raw  # stored hashed
    client.cookies.set("sr_session", first)
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_session_cookie_flags(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, email="flags@example.com")
    response = await client.post(
        "/api/v1/auth/login", json={"email": "flags@example.com", "password": PASSWORD}
    )
    cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("sr_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie


async def test_secure_cookie_when_tls(settings, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    from shopreel.app import create_app

    runtime.settings = settings.model_copy(update={"base_url": "https://shop.example"})
    app = create_app(runtime=runtime)
    await create_user(runtime, email="tls@example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as c:
        response = await c.post(
            "/api/v1/auth/login", json={"email": "tls@example.com", "password": PASSWORD}
        )
        assert "Secure" in response.headers["set-cookie"]
        health = await c.get("/healthz")
        assert health.headers["strict-transport-security"].startswith("max-age=")


async def test_wrong_password_401_problem(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, email="w@example.com")
    response = await client.post(
        "/api/v1/auth/login", json={"email": "w@example.com", "password": "wrong password!!"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever12345"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == response.json()["detail"]


async def test_login_throttled_per_account_then_reset_unlocks(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="t@example.com")
    limit = runtime.settings.login_max_failures
    for _ in range(limit):
        r = await client.post(
            "/api/v1/auth/login", json={"email": "t@example.com", "password": "nope nope nope"}
        )
        assert r.status_code == 401
    blocked = await client.post(
        "/api/v1/auth/login", json={"email": "t@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert blocked.json()["code"] == "login_throttled"
    # The legitimate user resets the password and gets back in.
    assert (
        await client.post("/api/v1/auth/password-reset", json={"email": "t@example.com"})
    ).status_code == 202
    mails = outbox(runtime, "us")
    assert len(mails) == 1
    token = _token_from_mail(mails[-1])
    new_password = "a brand new passphrase"
    confirm = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": new_password}
    )
    assert confirm.status_code == 204, confirm.text
    ok = await client.post(
        "/api/v1/auth/login", json={"email": "t@example.com", "password": new_password}
    )
    assert ok.status_code == 200
    reused = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "another passphrase"},
    )
    assert reused.status_code == 422 and reused.json()["code"] == "invalid_reset_token"


def _token_from_mail(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    text = message.get_content()
    assert "password-reset/confirm?token=" in text
    return text.split("token=", 1)[1].split()[0]


async def test_login_throttled_per_ip(client: httpx.AsyncClient, runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"ip_max_failures": 3})
    for i in range(3):
        r = await client.post(
            "/api/v1/auth/login", json={"email": f"n{i}@example.com", "password": "nope nope nope"}
        )
        assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/login", json={"email": "other@example.com", "password": "nope nope nope"}
    )
    assert r.status_code == 429 and "retry-after" in r.headers


async def test_reset_for_unknown_email_looks_the_same(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await client.post("/api/v1/auth/password-reset", json={"email": "ghost@example.com"})
    assert r.status_code == 202
    assert r.json() == {"status": "accepted"}
    assert outbox(runtime, "us") == [] and outbox(runtime, "intl") == []


async def test_me_requires_authentication(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_authenticated"


async def test_cookie_write_requires_csrf_header(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="c@example.com")
    csrf = await api_login(client, "c@example.com")
    body = {"name": "ci", "scopes": ["account:read"]}
    denied = await client.post("/api/v1/me/tokens", json=body)
    assert denied.status_code == 403 and denied.json()["code"] == "csrf_failed"
    wrong = await client.post("/api/v1/me/tokens", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    async with runtime.databases.session(regional("us")) as session:
        assert await session.scalar(select(func.count()).select_from(AccessToken)) == 0
    ok = await client.post("/api/v1/me/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


async def test_personal_access_tokens(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, email="pat@example.com", country="JP")
    csrf = await api_login(client, "pat@example.com")
    created = await client.post(
        "/api/v1/me/tokens",
        json={"name": "laptop", "scopes": ["account:read"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("srt_intl_")
    async with runtime.databases.session(regional("intl")) as session:
        stored = await session.scalar(select(AccessToken.token_hash))
    assert stored is not None and secret not in stored and len(stored) == 64

    bare = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with bare:
        auth = {"Authorization": f"Bearer {secret}"}
        me = await bare.get("/api/v1/me", headers=auth)
        assert me.status_code == 200 and me.json()["region"] == "intl"
        # The token lacks account:write: it cannot mint more tokens (no CSRF needed for bearer).
        more = await bare.post(
            "/api/v1/me/tokens", json={"name": "x", "scopes": ["account:read"]}, headers=auth
        )
        assert more.status_code == 403 and more.json()["code"] == "insufficient_scope"
        revoke = await client.post(
            f"/api/v1/me/tokens/{created.json()['id']}/revoke", headers={"X-CSRF-Token": csrf}
        )
        assert revoke.status_code == 200 and revoke.json()["revoked_at"]
        after = await bare.get("/api/v1/me", headers=auth)
        assert after.status_code == 401 and after.json()["code"] == "invalid_token"
        garbage = await bare.get("/api/v1/me", headers={"Authorization": "Bearer srt_us_nope"})
        assert garbage.status_code == 401
        basic = await bare.get("/api/v1/me", headers={"Authorization": "Basic abc"})
        assert basic.status_code == 401


async def test_cannot_revoke_another_users_token(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="a@example.com")
    await create_user(runtime, email="b@example.com")
    csrf_a = await api_login(client, "a@example.com")
    token = (
        await client.post(
            "/api/v1/me/tokens",
            json={"name": "a", "scopes": ["account:read"]},
            headers={"X-CSRF-Token": csrf_a},
        )
    ).json()
    csrf_b = await api_login(client, "b@example.com")
    r = await client.post(
        f"/api/v1/me/tokens/{token['id']}/revoke", headers={"X-CSRF-Token": csrf_b}
    )
    assert r.status_code == 404
    async with runtime.databases.session(regional("us")) as session:
        stored = await session.get(AccessToken, token["id"])
    assert stored is not None and stored.revoked_at is None


async def test_session_idle_and_absolute_expiry(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="exp@example.com")
    start = datetime.now(UTC)
    now = [start]
    shop_time.set_clock(lambda: now[0])
    try:
        await api_login(client, "exp@example.com")
        assert (await client.get("/api/v1/me")).status_code == 200
        now[0] = start + timedelta(minutes=runtime.settings.session_idle_minutes + 1)
        assert (await client.get("/api/v1/me")).status_code == 401
        now[0] = start
        await api_login(client, "exp@example.com")
        # Keep the session busy (never idle) until the absolute limit passes.
        step = timedelta(minutes=runtime.settings.session_idle_minutes // 2)
        while now[0] < start + timedelta(hours=runtime.settings.session_absolute_hours) - step:
            now[0] += step
            assert (await client.get("/api/v1/me")).status_code == 200
        now[0] += step * 2
        assert (await client.get("/api/v1/me")).status_code == 401
    finally:
        shop_time.set_clock(None)


async def test_logout_ends_session(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, email="out@example.com")
    csrf = await api_login(client, "out@example.com")
    cookie = client.cookies["sr_session"]
    assert (
        await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    ).status_code == 204
    client.cookies.set("sr_session", cookie)
    assert (await client.get("/api/v1/me")).status_code == 401
