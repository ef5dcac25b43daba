"""Account pages over HTTP (server side): forms, CSRF, throttling, redirects."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from shopreel.accounts.models import User
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.fixtures.factories import PASSWORD, create_user

HTML = {"accept": "text/html"}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form has no CSRF token"
    return match.group(1)


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200
    return csrf_from(response.text)


async def count_users(runtime: Runtime, region: str) -> int:
    async with runtime.databases.session(regional(region)) as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_landing_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers=HTML)
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert 'href="/signup"' in r.text and 'href="/login"' in r.text


async def test_every_inline_script_carries_the_csp_nonce(client: httpx.AsyncClient) -> None:
    r = await client.get("/signup", headers=HTML)
    nonce = re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"])
    assert nonce
    for tag in re.findall(r"<script\b[^>]*>", r.text):
        assert "src=" in tag or f'nonce="{nonce.group(1)}"' in tag, tag
    assert not re.search(r"\son[a-z]+=", r.text), "inline event handler breaks the CSP"
    assert " style=" not in r.text


async def test_signup_form_creates_account_in_home_region(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    token = await form_token(client, "/signup")
    r = await client.post(
        "/signup",
        data={
            "email": "page@example.com",
            "password": PASSWORD,
            "display_name": "Page",
            "country": "GB",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/account"
    account = await client.get("/account", headers=HTML)
    assert account.status_code == 200
    assert "page@example.com" in account.text and "INTL" in account.text.upper()
    assert await count_users(runtime, "intl") == 1 and await count_users(runtime, "us") == 0


async def test_form_post_without_csrf_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await client.get("/signup", headers=HTML)  # gets a CSRF cookie, but we omit the token
    body = {"email": "x@example.com", "password": PASSWORD, "display_name": "X", "country": "US"}
    r = await client.post("/signup", data=body, headers=HTML)
    assert r.status_code == 403
    r = await client.post("/signup", data={**body, "csrf_token": "f" * 64}, headers=HTML)
    assert r.status_code == 403
    api = await client.post("/signup", data=body)
    assert api.status_code == 403
    assert await count_users(runtime, "us") == 0


async def test_csrf_token_from_another_browser_is_refused(
    client: httpx.AsyncClient, app: object, runtime: Runtime
) -> None:
    attacker = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    )  # type: ignore[arg-type]
    async with attacker:
        stolen = await form_token(attacker, "/signup")
    await client.get("/signup", headers=HTML)
    r = await client.post(
        "/signup",
        data={
            "email": "v@example.com",
            "password": PASSWORD,
            "display_name": "V",
            "country": "US",
            "csrf_token": stolen,
        },
    )
    assert r.status_code == 403
    assert await count_users(runtime, "us") == 0


async def test_signup_errors_are_shown_and_input_kept(client: httpx.AsyncClient) -> None:
    token = await form_token(client, "/signup")
    r = await client.post(
        "/signup",
        data={
            "email": "keep@example.com",
            "password": "short",
            "display_name": "K",
            "country": "US",
            "csrf_token": token,
        },
    )
    assert r.status_code == 422
    assert "keep@example.com" in r.text and "at least 12 characters" in r.text


async def test_login_page_rotates_session_and_csrf(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="lp@example.com")
    token = await form_token(client, "/login")
    csrf_before = client.cookies["sr_csrf"]
    r = await client.post(
        "/login",
        data={
            "email": "lp@example.com",
            "password": PASSWORD,
            "next": "/account",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/account"
    first_session = client.cookies["sr_session"]
    assert client.cookies["sr_csrf"] != csrf_before  # a pre-login token is useless after login
    # Logging in again (as another tab would) issues a new session id.
    r = await client.post(
        "/login",
        data={
            "email": "lp@example.com",
            "password": PASSWORD,
            "csrf_token": csrf_from((await client.get("/account", headers=HTML)).text),
        },
    )
    assert r.status_code == 303
    assert client.cookies["sr_session"] != first_session


async def test_login_page_throttles_with_retry_after(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await create_user(runtime, email="th@example.com")
    for _ in range(runtime.settings.login_max_failures):
        token = await form_token(client, "/login")
        r = await client.post(
            "/login",
            data={"email": "th@example.com", "password": "wrong wrong wrong", "csrf_token": token},
        )
        assert r.status_code == 401
        assert "incorrect" in r.text
    token = await form_token(client, "/login")
    r = await client.post(
        "/login", data={"email": "th@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1


async def test_open_redirect_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, email="or@example.com")
    token = await form_token(client, "/login")
    r = await client.post(
        "/login",
        data={
            "email": "or@example.com",
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/account"


async def test_account_requires_login(client: httpx.AsyncClient) -> None:
    r = await client.get("/account", headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_tokens_page_create_and_revoke(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await create_user(runtime, email="tp@example.com")
    token = await form_token(client, "/login")
    await client.post(
        "/login", data={"email": "tp@example.com", "password": PASSWORD, "csrf_token": token}
    )
    page = await client.get("/account/tokens", headers=HTML)
    r = await client.post(
        "/account/tokens",
        data={"name": "cli", "scopes": ["account:read"], "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 200
    secret = re.search(r"srt_us_[A-Za-z0-9_-]+", r.text)
    assert secret, "the new token is shown once"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(0)}"})
    assert me.status_code == 200
    listing = await client.get("/account/tokens", headers=HTML)
    assert secret.group(0) not in listing.text  # never shown again
    token_id = re.search(r"/account/tokens/(tok_us_[a-z0-9]+)/revoke", listing.text)
    assert token_id
    r = await client.post(
        f"/account/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf_from(listing.text)}
    )
    assert r.status_code == 303
    bare = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with bare:
        me = await bare.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(0)}"})
    assert me.status_code == 401


async def test_error_pages_are_html_for_browsers(client: httpx.AsyncClient) -> None:
    r = await client.get("/no-such-page", headers=HTML)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
