"""Sandbox webhooks: signatures, at-least-once delivery with retries and duplicates,
out-of-order events, and our idempotent handler."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.kit.time import utcnow
from shopreel.payments import signing
from shopreel.payments.models import (
    Payment,
    PaymentEvent,
    PaymentRefund,
    ProcessedWebhookEvent,
    SandboxWebhookEvent,
)
from shopreel.payments.sandbox import WEBHOOK_PATH, backoff, deliver_pending_webhooks
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.fixtures.factories import create_user
from tests.payments.helpers import card_token, count, load, new_payment, sandbox


async def _events(runtime: Runtime) -> list[SandboxWebhookEvent]:
    async with runtime.databases.transaction(regional("us")) as session:
        rows = await session.scalars(
            select(SandboxWebhookEvent).order_by(
                SandboxWebhookEvent.created_at, SandboxWebhookEvent.id
            )
        )
        return list(rows.all())


async def _transitions(runtime: Runtime, payment_id: str) -> list[tuple[str | None, str, str]]:
    async with runtime.databases.transaction(regional("us")) as session:
        rows = await session.scalars(
            select(PaymentEvent)
            .where(PaymentEvent.payment_id == payment_id)
            .order_by(PaymentEvent.created_at, PaymentEvent.id)
        )
        return [(r.from_status, r.to_status, r.kind) for r in rows.all()]


def _signed(runtime: Runtime, body: bytes, *, secret: bytes | None = None, at: int | None = None):  # type: ignore[no-untyped-def]
    key = secret or signing.webhook_secret(runtime.settings.secret_key)
    timestamp = at if at is not None else int(utcnow().timestamp())
    return {
        "content-type": "application/json",
        "Shopreel-Signature": signing.signature_header(key, timestamp, body),
    }


async def _provider_side_payment(client: httpx.AsyncClient, runtime: Runtime) -> tuple[str, str]:
    """A payment of ours whose authorization and capture happened at the provider but whose
    results we never recorded (as if we crashed right after each call): only webhooks tell."""
    buyer = await create_user(runtime)
    payment = await new_payment(runtime, buyer.id, 3000)
    provider = sandbox(runtime)
    auth = await provider.authorize(
        await card_token(client),
        3000,
        "USD",
        f"{payment.id}:authorize",
        {"payment_id": payment.id, "reference": payment.reference},
    )
    await provider.capture(auth.id, 3000, f"{payment.id}:capture")
    return payment.id, auth.id


async def test_signature_checks(client: httpx.AsyncClient, runtime: Runtime) -> None:
    payment_id, _ = await _provider_side_payment(client, runtime)
    body = (await _events(runtime))[0].body.encode()
    now = int(utcnow().timestamp())
    tampered = body.replace(b'"status":"authorized"', b'"status":"captured"')
    assert tampered != body
    cases = [
        (tampered, _signed(runtime, body), "webhook_signature_invalid"),
        (body, _signed(runtime, body, secret=b"another deployment"), "webhook_signature_invalid"),
        (body, _signed(runtime, body, at=now - 301), "webhook_timestamp_stale"),
        (body, _signed(runtime, body, at=now + 301), "webhook_timestamp_stale"),
        (body, {"content-type": "application/json"}, "webhook_signature_invalid"),
        (body, {"Shopreel-Signature": "t=abc,v1="}, "webhook_signature_invalid"),
    ]
    for content, headers, code in cases:
        response = await client.post(f"{WEBHOOK_PATH}", content=content, headers=headers)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
    assert await count(runtime, ProcessedWebhookEvent) == 0
    assert (await load(runtime, payment_id)).status == "pending"
    ok = await client.post(WEBHOOK_PATH, content=body, headers=_signed(runtime, body))
    assert ok.status_code == 200, ok.text
    assert ok.json()["outcome"] == "applied"
    assert (await load(runtime, payment_id)).status == "authorized"


async def test_at_least_once_with_duplicates_changes_state_exactly_once(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    payment_id, auth_id = await _provider_side_payment(client, runtime)
    transport = httpx.ASGITransport(app=app)
    report = await deliver_pending_webhooks(runtime, utcnow(), transport, duplicate=True)
    assert (report.attempted, report.delivered, report.requests) == (2, 2, 4)
    payment = await load(runtime, payment_id)
    assert (payment.status, payment.captured_cents) == ("captured", 3000)
    assert payment.provider_authorization_id == auth_id
    assert await _transitions(runtime, payment_id) == [
        (None, "pending", "transition"),
        ("pending", "authorized", "transition"),
        ("authorized", "captured", "transition"),
    ]
    assert await count(runtime, ProcessedWebhookEvent) == 2
    # the same events once more (a provider that lost our acknowledgements): no effect
    for event in await _events(runtime):
        response = await client.post(
            WEBHOOK_PATH, content=event.body.encode(), headers=_signed(runtime, event.body.encode())
        )
        assert response.json()["outcome"] == "duplicate"
    assert len(await _transitions(runtime, payment_id)) == 3
    assert (await deliver_pending_webhooks(runtime, utcnow(), transport)).attempted == 0


async def test_refund_webhooks_count_each_refund_once(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    payment_id, auth_id = await _provider_side_payment(client, runtime)
    provider = sandbox(runtime)
    capture_id = (await provider.retrieve(auth_id)).capture_id
    assert capture_id
    await provider.refund(capture_id, 1000, "r1")
    await provider.refund(capture_id, 2000, "r2")
    transport = httpx.ASGITransport(app=app)
    await deliver_pending_webhooks(runtime, utcnow(), transport, duplicate=True)
    payment = await load(runtime, payment_id)
    assert (payment.status, payment.refunded_cents) == ("refunded", 3000)
    assert await count(runtime, PaymentRefund) == 2


async def test_retries_with_backoff_until_acknowledged(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    payment_id, _ = await _provider_side_payment(client, runtime)
    calls: list[int] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, text="maintenance")

    start = utcnow()
    report = await deliver_pending_webhooks(runtime, start, httpx.MockTransport(down))
    assert (report.attempted, report.failed, report.delivered) == (2, 2, 0)
    events = await _events(runtime)
    assert all(e.status == "pending" and e.attempts == 1 for e in events)
    assert all(e.last_error and "503" in e.last_error for e in events)
    assert (await load(runtime, payment_id)).status == "pending"
    # not due yet
    transport = httpx.ASGITransport(app=app)
    early = await deliver_pending_webhooks(runtime, start + timedelta(seconds=10), transport)
    assert early.attempted == 0
    # a second failure doubles the delay
    await deliver_pending_webhooks(runtime, start + backoff(1), httpx.MockTransport(down))
    events = await _events(runtime)
    assert all(e.attempts == 2 for e in events)
    assert backoff(2) == 2 * backoff(1)
    later = start + backoff(1) + backoff(2)
    done = await deliver_pending_webhooks(runtime, later, transport)
    assert done.delivered == 2
    assert all(e.status == "delivered" for e in await _events(runtime))
    assert (await load(runtime, payment_id)).status == "captured"
    assert len(calls) == 4


async def test_gives_up_after_three_days(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await _provider_side_payment(client, runtime)
    down = httpx.MockTransport(lambda request: httpx.Response(500))
    report = await deliver_pending_webhooks(runtime, utcnow() + timedelta(days=3, seconds=1), down)
    assert report.expired == 2
    assert all(e.status == "expired" for e in await _events(runtime))


async def test_out_of_order_captured_before_authorized(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    payment_id, _ = await _provider_side_payment(client, runtime)
    authorized, captured = await _events(runtime)
    assert (authorized.type, captured.type) == ("payment.authorized", "payment.captured")
    first = await client.post(
        WEBHOOK_PATH,
        content=captured.body.encode(),
        headers=_signed(runtime, captured.body.encode()),
    )
    assert first.json()["outcome"] == "applied"
    payment = await load(runtime, payment_id)
    assert (payment.status, payment.authorized_cents, payment.captured_cents) == (
        "captured",
        3000,
        3000,
    )
    late = await client.post(
        WEBHOOK_PATH,
        content=authorized.body.encode(),
        headers=_signed(runtime, authorized.body.encode()),
    )
    assert late.status_code == 200 and late.json()["outcome"] == "no_change"
    assert (await load(runtime, payment_id)).status == "captured"
    assert await _transitions(runtime, payment_id) == [
        (None, "pending", "transition"),
        ("pending", "captured", "transition"),
    ]


async def test_refund_before_capture_arrives(client: httpx.AsyncClient, runtime: Runtime) -> None:
    payment_id, auth_id = await _provider_side_payment(client, runtime)
    provider = sandbox(runtime)
    capture_id = (await provider.retrieve(auth_id)).capture_id
    assert capture_id
    await provider.refund(capture_id, 500, "r1")
    refund_event = (await _events(runtime))[-1]
    assert refund_event.type == "refund.succeeded"
    body = refund_event.body.encode()
    response = await client.post(WEBHOOK_PATH, content=body, headers=_signed(runtime, body))
    assert response.json()["outcome"] == "applied"
    payment = await load(runtime, payment_id)
    assert (payment.status, payment.captured_cents, payment.refunded_cents) == (
        "partially_refunded",
        3000,
        500,
    )


async def test_event_for_an_unknown_payment_is_acknowledged_without_effect(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    provider = sandbox(runtime)
    await provider.authorize(
        await card_token(client),
        100,
        "USD",
        "k",
        {"payment_id": "pay_us_00000000000000000000000000"},
    )
    body = (await _events(runtime))[0].body.encode()
    response = await client.post(WEBHOOK_PATH, content=body, headers=_signed(runtime, body))
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_payment"
    assert await count(runtime, Payment) == 0
    assert json.loads(body)["type"] == "payment.authorized"
