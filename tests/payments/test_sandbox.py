"""The sandbox provider behaves like a real one: test cards, idempotency at the provider,
capture/void/refund rules, the second step."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy import select

from shopreel.payments.models import (
    SandboxAuthorization,
    SandboxCapture,
    SandboxIdempotencyKey,
    SandboxRefund,
    SandboxWebhookEvent,
)
from shopreel.payments.provider import (
    AmountExceedsAuthorized,
    AmountExceedsCaptured,
    AuthorizationStatus,
    CaptureStatus,
    IdempotencyKeyReused,
    InvalidAuthorizationState,
    InvalidCardToken,
    PaymentProvider,
)
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.payments.helpers import (
    CAPTURE_FAILS,
    CHALLENGE,
    DECLINE,
    EXPIRED,
    INCORRECT_CVC,
    INSUFFICIENT,
    SUCCESS,
    card_token,
    count,
    sandbox,
)

A = AuthorizationStatus
META = {"payment_id": "pay_us_test", "reference": "chk_1"}


async def test_tokenization_endpoint_validates_and_returns_only_brand_and_last4(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/payments/sandbox/tokens",
        json={"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2099, "cvc": "123"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["brand"] == "visa" and body["last4"] == "4242"
    assert "4242424242424242" not in response.text
    for payload, code in [
        ({"number": "4242 4242 4242 4241"}, "incorrect_number"),
        ({"number": "4111 1111 1111 1111"}, "not_a_test_card"),
        ({"exp_year": 2020}, "expired_card"),
        ({"cvc": "1"}, "invalid_cvc"),
    ]:
        card = {"number": SUCCESS, "exp_month": 12, "exp_year": 2099, "cvc": "123", **payload}
        response = await client.post("/api/v1/payments/sandbox/tokens", json=card)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
        assert card["number"].replace(" ", "") not in response.text
        assert card["number"] not in response.text


def test_sandbox_implements_the_interface(runtime: Runtime) -> None:
    assert isinstance(sandbox(runtime), PaymentProvider)


@pytest.mark.parametrize(
    ("number", "status", "decline"),
    [
        (SUCCESS, A.AUTHORIZED, None),
        ("5555 5555 5555 4444", A.AUTHORIZED, None),
        (DECLINE, A.DECLINED, "card_declined"),
        (INSUFFICIENT, A.DECLINED, "insufficient_funds"),
        (EXPIRED, A.DECLINED, "expired_card"),
        (INCORRECT_CVC, A.DECLINED, "incorrect_cvc"),
        (CHALLENGE, A.REQUIRES_ACTION, None),
        (CAPTURE_FAILS, A.AUTHORIZED, None),
    ],
)
async def test_each_test_card(
    client: httpx.AsyncClient,
    runtime: Runtime,
    number: str,
    status: AuthorizationStatus,
    decline: str | None,
) -> None:
    token = await card_token(client, number)
    auth = await sandbox(runtime).authorize(token, 1999, "USD", "key-1", META)
    assert auth.status is status
    assert auth.decline_code == decline
    assert auth.card.last4 == number.replace(" ", "")[-4:]
    assert auth.metadata == META
    if status is A.REQUIRES_ACTION:
        assert auth.next_action_url and "/payments/sandbox/challenge/" in auth.next_action_url
    else:
        assert auth.next_action_url is None
    events = await count(runtime, SandboxWebhookEvent)
    assert events == 1


async def test_capture_fails_card(client: httpx.AsyncClient, runtime: Runtime) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(await card_token(client, CAPTURE_FAILS), 500, "USD", "a", META)
    capture = await provider.capture(auth.id, 500, "c")
    assert capture.status is CaptureStatus.FAILED
    assert capture.failure_code == "processing_error"
    assert (await provider.retrieve(auth.id)).status is A.FAILED


async def test_same_key_returns_the_same_authorization(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    provider = sandbox(runtime)
    token = await card_token(client)
    first = await provider.authorize(token, 1000, "USD", "same-key", META)
    second = await provider.authorize(token, 1000, "USD", "same-key", META)
    assert first == second
    assert await count(runtime, SandboxAuthorization) == 1
    assert await count(runtime, SandboxWebhookEvent) == 1
    with pytest.raises(IdempotencyKeyReused):
        await provider.authorize(token, 2000, "USD", "same-key", META)
    assert await count(runtime, SandboxAuthorization) == 1
    other = await provider.authorize(token, 1000, "USD", "other-key", META)
    assert other.id != first.id


async def test_concurrent_calls_with_one_key_authorize_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    provider = sandbox(runtime)
    token = await card_token(client)
    results = await asyncio.gather(
        *(provider.authorize(token, 1000, "USD", "race", META) for _ in range(8))
    )
    assert len({r.id for r in results}) == 1
    assert await count(runtime, SandboxAuthorization) == 1


async def test_a_refusal_is_replayed_for_its_key(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(await card_token(client), 1000, "USD", "a", META)
    with pytest.raises(AmountExceedsAuthorized):
        await provider.capture(auth.id, 1001, "cap")
    with pytest.raises(AmountExceedsAuthorized):
        await provider.capture(auth.id, 1001, "cap")
    assert (await provider.retrieve(auth.id)).status is A.AUTHORIZED
    assert await count(runtime, SandboxCapture) == 0


async def test_capture_void_refund_rules(client: httpx.AsyncClient, runtime: Runtime) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(await card_token(client), 1000, "USD", "a", META)
    with pytest.raises(AmountExceedsAuthorized):
        await provider.capture(auth.id, 1500, "cap-too-much")
    capture = await provider.capture(auth.id, 800, "cap")  # partial capture
    assert capture.status is CaptureStatus.SUCCEEDED and capture.amount_cents == 800
    assert await provider.capture(auth.id, 800, "cap") == capture  # same key: same capture
    with pytest.raises(InvalidAuthorizationState):
        await provider.capture(auth.id, 100, "cap-again")  # one capture per authorization
    with pytest.raises(InvalidAuthorizationState):
        await provider.void(auth.id, "void-after-capture")
    refund = await provider.refund(capture.id, 500, "r1")
    assert await provider.refund(capture.id, 500, "r1") == refund
    with pytest.raises(AmountExceedsCaptured):
        await provider.refund(capture.id, 301, "r2")
    await provider.refund(capture.id, 300, "r3")
    with pytest.raises(AmountExceedsCaptured):
        await provider.refund(capture.id, 1, "r4")
    after = await provider.retrieve(auth.id)
    assert (after.status, after.captured_cents, after.refunded_cents) == (A.CAPTURED, 800, 800)
    assert await count(runtime, SandboxRefund) == 2


async def test_void_then_capture_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(await card_token(client), 1000, "USD", "a", META)
    voided = await provider.void(auth.id, "v")
    assert voided.status is A.VOIDED
    assert await provider.void(auth.id, "v") == voided
    with pytest.raises(InvalidAuthorizationState):
        await provider.capture(auth.id, 1000, "c")
    assert await count(runtime, SandboxCapture) == 0


async def test_declined_cannot_be_captured(client: httpx.AsyncClient, runtime: Runtime) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(await card_token(client, DECLINE), 1000, "USD", "a", META)
    with pytest.raises(InvalidAuthorizationState):
        await provider.capture(auth.id, 1000, "c")


async def test_concurrent_refunds_never_exceed_the_capture(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(await card_token(client), 1000, "USD", "a", META)
    capture = await provider.capture(auth.id, 1000, "c")
    results = await asyncio.gather(
        *(provider.refund(capture.id, 300, f"r{i}") for i in range(6)), return_exceptions=True
    )
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    assert len(succeeded) == 3
    assert all(isinstance(r, AmountExceedsCaptured) for r in results if r not in succeeded)
    assert (await provider.retrieve(auth.id)).refunded_cents == 900


async def test_forged_token_is_refused(runtime: Runtime) -> None:
    with pytest.raises(InvalidCardToken):
        await sandbox(runtime).authorize(
            "tok_sandbox_eyJiIjoic3VjY2VlZCJ9.x", 100, "USD", "k", META
        )
    assert await count(runtime, SandboxAuthorization) == 0


def _challenge_path(url: str) -> tuple[str, str]:
    match = re.search(r"(/payments/sandbox/challenge/[^?]+)\?secret=(.+)$", url)
    assert match
    return match.group(1), match.group(2)


async def _csrf(client: httpx.AsyncClient, path: str, secret: str) -> str:
    page = await client.get(path, params={"secret": secret}, headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


@pytest.mark.parametrize(("decision", "status"), [("approve", A.AUTHORIZED), ("fail", A.DECLINED)])
async def test_second_step_page(
    client: httpx.AsyncClient, runtime: Runtime, decision: str, status: AuthorizationStatus
) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(
        await card_token(client, CHALLENGE), 4200, "USD", "a", META, return_url="/checkout/done"
    )
    path, secret = _challenge_path(auth.next_action_url or "")
    # a wrong secret shows nothing and changes nothing
    wrong = await client.get(path, params={"secret": "nope"}, headers={"accept": "text/html"})
    assert wrong.status_code == 404
    csrf = await _csrf(client, path, secret)
    bad = await client.post(path, data={"csrf_token": csrf, "secret": "nope", "decision": decision})
    assert bad.status_code == 404
    assert (await provider.confirm_action(auth.id, "confirm")).status is A.REQUIRES_ACTION
    response = await client.post(
        path, data={"csrf_token": csrf, "secret": secret, "decision": decision}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/checkout/done"
    confirmed = await provider.confirm_action(auth.id, "confirm")  # same key, now final
    assert confirmed.status is status
    if status is A.DECLINED:
        assert confirmed.decline_code == "authentication_failed"
    # answering again changes nothing
    again = "fail" if decision == "approve" else "approve"
    await client.post(path, data={"csrf_token": csrf, "secret": secret, "decision": again})
    assert (await provider.retrieve(auth.id)).status is status
    types = await _event_types(runtime)
    assert types == [
        "payment.requires_action",
        "payment.authorized" if status is A.AUTHORIZED else "payment.failed",
    ]


async def test_second_step_refuses_an_open_redirect(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    provider = sandbox(runtime)
    auth = await provider.authorize(
        await card_token(client, CHALLENGE),
        4200,
        "USD",
        "a",
        META,
        return_url="https://evil.example/phish",
    )
    path, secret = _challenge_path(auth.next_action_url or "")
    csrf = await _csrf(client, path, secret)
    response = await client.post(
        path,
        data={"csrf_token": csrf, "secret": secret, "decision": "approve"},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 200  # the result page, no redirect
    assert "evil.example" not in response.headers.get("location", "")


async def _event_types(runtime: Runtime) -> list[str]:
    async with runtime.databases.transaction(regional("us")) as session:
        rows = await session.scalars(
            select(SandboxWebhookEvent.type).order_by(
                SandboxWebhookEvent.created_at, SandboxWebhookEvent.id
            )
        )
        return list(rows.all())


async def test_idempotency_keys_are_kept_by_the_provider(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await sandbox(runtime).authorize(await card_token(client), 100, "USD", "kept", META)
    assert await count(runtime, SandboxIdempotencyKey, SandboxIdempotencyKey.key == "kept") == 1
