"""Our side: payments through the API and the service, cross-user denials, and proof
that no card number is stored anywhere."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from shopreel.kit.ids import region_of
from shopreel.kit.time import utcnow
from shopreel.models import metadata_for
from shopreel.payments import service
from shopreel.payments.cards import TEST_CARDS
from shopreel.payments.errors import PaymentStateConflict
from shopreel.payments.models import Payment, PaymentEvent, SandboxAuthorization
from shopreel.payments.provider import AmountExceedsCaptured
from shopreel.payments.sandbox import deliver_pending_webhooks
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import create_user
from tests.payments.helpers import (
    CAPTURE_FAILS,
    CHALLENGE,
    DECLINE,
    bearer,
    card_token,
    count,
    load,
    new_payment,
)


async def _authorize(
    client: httpx.AsyncClient, headers: dict[str, str], payment_id: str, token: str, key: str = "k1"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/payments/{payment_id}/authorize",
        json={"token": token, "return_url": "/checkout/return"},
        headers={**headers, "Idempotency-Key": key},
    )


async def _uow(runtime: Runtime, payment_id: str) -> UnitOfWork:
    return UnitOfWork(runtime.databases, home_region=region_of(payment_id))


async def test_pay_capture_refund(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    buyer = await create_user(runtime, email="buyer@example.com")
    headers = await bearer(app, "buyer@example.com")
    payment = await new_payment(runtime, buyer.id, 2599)
    token = await card_token(client)

    missing = await client.post(
        f"/api/v1/payments/{payment.id}/authorize", json={"token": token}, headers=headers
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
    assert (await load(runtime, payment.id)).status == "pending"

    first = await _authorize(client, headers, payment.id, token)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["status"], body["authorized_cents"], body["card_last4"]) == (
        "authorized",
        2599,
        "4242",
    )
    retry = await _authorize(client, headers, payment.id, token)
    assert retry.json() == body
    assert await count(runtime, SandboxAuthorization) == 1

    async with await _uow(runtime, payment.id) as uow:
        captured = await service.capture_payment(uow, runtime, payment.id)
        assert (captured.status, captured.captured_cents) == ("captured", 2599)
    async with await _uow(runtime, payment.id) as uow:
        again = await service.capture_payment(uow, runtime, payment.id)
        assert again.captured_cents == 2599
    async with await _uow(runtime, payment.id) as uow:
        with pytest.raises(PaymentStateConflict):
            await service.void_payment(uow, runtime, payment.id)  # void after capture
    async with await _uow(runtime, payment.id) as uow:
        refunded = await service.refund_payment(
            uow, runtime, payment.id, amount_cents=599, idempotency_key="return-1"
        )
        assert (refunded.status, refunded.refunded_cents) == ("partially_refunded", 599)
    async with await _uow(runtime, payment.id) as uow:
        same = await service.refund_payment(
            uow, runtime, payment.id, amount_cents=599, idempotency_key="return-1"
        )
        assert same.refunded_cents == 599  # the same refund, counted once
    async with await _uow(runtime, payment.id) as uow:
        with pytest.raises(AmountExceedsCaptured):
            await service.refund_payment(
                uow, runtime, payment.id, amount_cents=2001, idempotency_key="return-2"
            )
    after = await load(runtime, payment.id)
    assert (after.status, after.refunded_cents) == ("partially_refunded", 599)

    # webhooks arriving afterwards (duplicated) change nothing: our calls already recorded it
    before = await count(runtime, PaymentEvent)
    await deliver_pending_webhooks(runtime, utcnow(), httpx.ASGITransport(app=app), duplicate=True)
    assert await count(runtime, PaymentEvent) == before
    listed = await client.get("/api/v1/payments", headers=headers)
    assert [p["id"] for p in listed.json()["items"]] == [payment.id]


async def test_capture_more_than_authorized_is_refused(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    buyer = await create_user(runtime, email="b2@example.com")
    headers = await bearer(app, "b2@example.com")
    payment = await new_payment(runtime, buyer.id, 1000)
    await _authorize(client, headers, payment.id, await card_token(client))
    async with await _uow(runtime, payment.id) as uow:
        with pytest.raises(PaymentStateConflict) as info:
            await service.capture_payment(uow, runtime, payment.id, amount_cents=1001)
        assert info.value.code == "amount_exceeds_authorized"
    assert (await load(runtime, payment.id)).status == "authorized"


async def test_declined_card(client: httpx.AsyncClient, app: FastAPI, runtime: Runtime) -> None:
    buyer = await create_user(runtime, email="b3@example.com")
    headers = await bearer(app, "b3@example.com")
    payment = await new_payment(runtime, buyer.id)
    response = await _authorize(client, headers, payment.id, await card_token(client, DECLINE))
    body = response.json()
    assert (body["status"], body["decline_code"]) == ("declined", "card_declined")
    assert "declined" in body["decline_message"]
    async with await _uow(runtime, payment.id) as uow:
        with pytest.raises(PaymentStateConflict):
            await service.capture_payment(uow, runtime, payment.id)


async def test_capture_failure_fails_the_payment(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    buyer = await create_user(runtime, email="b4@example.com")
    headers = await bearer(app, "b4@example.com")
    payment = await new_payment(runtime, buyer.id)
    await _authorize(client, headers, payment.id, await card_token(client, CAPTURE_FAILS))
    async with await _uow(runtime, payment.id) as uow:
        failed = await service.capture_payment(uow, runtime, payment.id)
        assert (failed.status, failed.decline_code) == ("failed", "processing_error")


async def test_second_step_through_the_api(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    buyer = await create_user(runtime, email="b5@example.com")
    headers = await bearer(app, "b5@example.com")
    payment = await new_payment(runtime, buyer.id)
    response = await _authorize(client, headers, payment.id, await card_token(client, CHALLENGE))
    body = response.json()
    assert body["status"] == "requires_action"
    url = body["next_action_url"]
    confirm = await client.post(
        f"/api/v1/payments/{payment.id}/confirm", headers={**headers, "Idempotency-Key": "c1"}
    )
    assert confirm.json()["status"] == "requires_action"  # not answered yet
    match = re.search(r"(/payments/sandbox/challenge/[^?]+)\?secret=(.+)$", url)
    assert match
    path, secret = match.groups()
    page = await client.get(path, params={"secret": secret}, headers={"accept": "text/html"})
    assert page.status_code == 200 and "25.00 USD" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    done = await client.post(
        path, data={"csrf_token": csrf.group(1), "secret": secret, "decision": "approve"}
    )
    assert done.headers["location"] == "/checkout/return"
    confirm = await client.post(
        f"/api/v1/payments/{payment.id}/confirm", headers={**headers, "Idempotency-Key": "c2"}
    )
    assert confirm.json()["status"] == "authorized"
    assert confirm.json()["next_action_url"] is None


async def test_another_user_cannot_see_or_act_on_a_payment(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    owner = await create_user(runtime, email="owner@example.com")
    await create_user(runtime, email="other@example.com")
    await create_user(runtime, email="abroad@example.com", country="FR")
    payment = await new_payment(runtime, owner.id)
    token = await card_token(client)
    for email in ("other@example.com", "abroad@example.com"):
        headers = await bearer(app, email)
        for response in (
            await client.get(f"/api/v1/payments/{payment.id}", headers=headers),
            await _authorize(client, headers, payment.id, token),
            await client.post(
                f"/api/v1/payments/{payment.id}/confirm",
                headers={**headers, "Idempotency-Key": "x"},
            ),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "payment_not_found"
        listed = await client.get("/api/v1/payments", headers=headers)
        assert listed.json()["items"] == []
    unchanged = await load(runtime, payment.id)
    assert (unchanged.status, unchanged.version, unchanged.provider_authorization_id) == (
        "pending",
        1,
        None,
    )
    assert await count(runtime, SandboxAuthorization) == 0


async def test_a_token_without_the_scope_cannot_pay(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    buyer = await create_user(runtime, email="b6@example.com")
    headers = await bearer(app, "b6@example.com", scopes=("orders:read",))
    payment = await new_payment(runtime, buyer.id)
    response = await _authorize(client, headers, payment.id, await card_token(client))
    assert response.status_code == 403
    assert (await load(runtime, payment.id)).status == "pending"
    assert (await client.get(f"/api/v1/payments/{payment.id}", headers=headers)).status_code == 200


async def test_no_card_number_is_stored_anywhere(
    client: httpx.AsyncClient, app: FastAPI, runtime: Runtime
) -> None:
    buyer = await create_user(runtime, email="pan@example.com")
    headers = await bearer(app, "pan@example.com")
    for index, card in enumerate(TEST_CARDS):
        spaced = " ".join(card.number[i : i + 4] for i in range(0, 16, 4))
        payment = await new_payment(runtime, buyer.id, reference=f"chk_{index}")
        await _authorize(client, headers, payment.id, await card_token(client, spaced))
        if (await load(runtime, payment.id)).status == "authorized":
            async with await _uow(runtime, payment.id) as uow:
                await service.capture_payment(uow, runtime, payment.id)
    await deliver_pending_webhooks(runtime, utcnow(), httpx.ASGITransport(app=app))
    assert await count(runtime, Payment) == len(TEST_CARDS)

    numbers = [card.number for card in TEST_CARDS]
    # the first 12 digits too: a stored number would contain them even if split or masked
    needles = numbers + [n[:12] for n in numbers]
    scanned = 0
    for plane in runtime.databases.planes():
        async with runtime.databases.engine(plane).connect() as conn:
            for table in metadata_for(plane.kind).sorted_tables:
                for row in (await conn.execute(select(table))).all():
                    scanned += 1
                    text = " ".join(_text(v) for v in row)
                    digits = re.sub(r"[\s-]", "", text)
                    for needle in needles:
                        assert needle not in digits, f"{table.name} holds a card number"
    assert scanned > 30


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)
