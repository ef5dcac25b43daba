"""``@idempotent`` end to end, through a test-only money-moving router mounted on the app.

The fake endpoint "charges" by inserting a row into ``idem_test_charges`` (a scratch table in
the regional database, created and dropped by the fixture) through the request's unit of
work, and answers with a random charge id: the number of rows is the number of executions
that committed, and equal bodies prove a replay rather than a second run. On PostgreSQL the
concurrent tests really run at once (asyncpg, one connection each); on SQLite the database
serializes writers and the same assertions hold.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from sqlalchemy import select, text

from shopreel.accounts.models import User
from shopreel.deps import CurrentPrincipal, UowDep
from shopreel.errors import ValidationFailed
from shopreel.idempotency import service
from shopreel.idempotency.http import current_claim, idempotent
from shopreel.idempotency.models import IdempotencyRecord
from shopreel.idempotency.privacy import erase_idempotency_records
from shopreel.idempotency.rules import RETENTION
from shopreel.kit import time as clock
from shopreel.kit.ids import new_id
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import api_login, create_user

PREFIX = "/api/v1/_test"
CHARGES = f"{PREFIX}/charges"


class ChargeIn(BaseModel):
    amount_cents: int
    currency: str = "USD"


class ChargeOut(BaseModel):
    charge_id: str
    amount_cents: int
    currency: str
    attempt: int


@dataclass
class Behaviour:
    """Knobs the tests turn; ``calls`` counts every execution of the endpoint body."""

    calls: int = 0
    crash_next: int = 0
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    hold_seconds: float = 0.0


def _behaviour(request: Request) -> Behaviour:
    behaviour: Behaviour = request.app.state.idem_test
    return behaviour


async def _charge(
    request: Request, uow: UowDep, principal: CurrentPrincipal, body: ChargeIn
) -> ChargeOut:
    behaviour = _behaviour(request)
    behaviour.calls += 1
    behaviour.entered.set()
    if behaviour.gate is not None:
        # Waits before writing: on SQLite a writer waiting here would lock others out.
        await behaviour.gate.wait()
    claim = current_claim()
    assert claim is not None and claim.user_id == principal.id
    charge_id = new_id("chg", principal.region)
    await uow.region(principal.region).execute(
        text("INSERT INTO idem_test_charges (id, user_id, amount_cents) VALUES (:id, :user, :amt)"),
        {"id": charge_id, "user": principal.id, "amt": body.amount_cents},
    )
    if behaviour.hold_seconds:
        await asyncio.sleep(behaviour.hold_seconds)
    if behaviour.crash_next > 0:
        behaviour.crash_next -= 1
        raise RuntimeError("the card network hung up")  # after the write: it must roll back
    if body.amount_cents <= 0:
        raise ValidationFailed("Charge a positive amount.", code="amount_refused")
    return ChargeOut(
        charge_id=charge_id,
        amount_cents=body.amount_cents,
        currency=body.currency,
        attempt=claim.attempt,
    )


def _router() -> APIRouter:
    router = APIRouter()

    @router.post("/charges", status_code=201)
    @idempotent
    async def create_charge(
        request: Request, uow: UowDep, principal: CurrentPrincipal, body: ChargeIn
    ) -> ChargeOut:
        """A fake money-moving endpoint."""
        return await _charge(request, uow, principal, body)

    @router.post("/wallets/{wallet_id}/charges", status_code=201)
    @idempotent(lease=timedelta(seconds=5))
    async def charge_wallet(
        wallet_id: str, request: Request, uow: UowDep, principal: CurrentPrincipal, body: ChargeIn
    ) -> ChargeOut:
        return await _charge(request, uow, principal, body)

    @router.post("/refunds", status_code=201)
    @idempotent
    async def refund(
        request: Request, uow: UowDep, principal: CurrentPrincipal, body: ChargeIn
    ) -> ChargeOut:
        return await _charge(request, uow, principal, body)

    return router


@pytest.fixture
async def scratch_table(runtime: Runtime) -> AsyncIterator[None]:
    engines = [runtime.databases.engine(regional(r)) for r in runtime.databases.regions]
    for engine in engines:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS idem_test_charges"))
            await conn.execute(
                text(
                    "CREATE TABLE idem_test_charges (id VARCHAR(64) PRIMARY KEY, "
                    "user_id VARCHAR(48) NOT NULL, amount_cents INTEGER NOT NULL)"
                )
            )
    yield
    for engine in engines:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS idem_test_charges"))


@pytest.fixture
async def money_app(app: FastAPI, scratch_table: None) -> FastAPI:
    app.include_router(_router(), prefix=PREFIX)
    app.state.idem_test = Behaviour()
    return app


@pytest.fixture
def behaviour(money_app: FastAPI) -> Behaviour:
    result: Behaviour = money_app.state.idem_test
    return result


@pytest.fixture
async def api(money_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # Unexpected exceptions must come back as the app's 500 problem, not be re-raised here.
    transport = httpx.ASGITransport(
        app=money_app, client=("203.0.113.7", 51000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def fake_clock() -> Iterator[list[datetime]]:
    now = [clock.utcnow()]
    clock.set_clock(lambda: now[0])
    try:
        yield now
    finally:
        clock.set_clock(None)


async def _user(runtime: Runtime, money_app: FastAPI, country: str = "US") -> dict[str, str]:
    """A new user of ``country``'s home region; returns bearer headers of a fresh token."""
    email = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    await create_user(runtime, email=email, country=country)
    transport = httpx.ASGITransport(app=money_app, client=("203.0.113.9", 52000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        csrf = await api_login(c, email)
        created = await c.post(
            "/api/v1/me/tokens",
            json={"name": "idempotency tests", "scopes": ["account:read"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert created.status_code == 201, created.text
        return {"Authorization": f"Bearer {created.json()['token']}"}


def _key() -> str:
    return str(uuid.uuid4())


async def _charges(runtime: Runtime, region: str = "us") -> int:
    async with runtime.databases.session(regional(region)) as session:
        count = await session.scalar(text("SELECT count(*) FROM idem_test_charges"))
        return int(count or 0)


async def _records(runtime: Runtime, region: str = "us") -> list[IdempotencyRecord]:
    async with runtime.databases.session(regional(region)) as session:
        return list(await session.scalars(select(IdempotencyRecord)))


async def _post(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    key: str | None,
    body: dict[str, Any] | None = None,
    url: str = CHARGES,
) -> httpx.Response:
    headers = dict(auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.post(url, json=body or {"amount_cents": 1999}, headers=headers)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    return problem


# ---- the Done-when cases -----------------------------------------------------------------


async def test_fifty_identical_retries_run_once_with_identical_bodies(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    responses = [await _post(api, auth, key) for _ in range(50)]

    assert [r.status_code for r in responses] == [201] * 50
    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["amount_cents"] == 1999
    assert responses[0].json()["charge_id"].startswith("chg_us_")
    assert "idempotent-replayed" not in responses[0].headers
    assert [r.headers.get("idempotent-replayed") for r in responses[1:]] == ["true"] * 49
    assert all(r.headers["content-type"] == "application/json" for r in responses)
    assert behaviour.calls == 1
    assert await _charges(runtime) == 1
    (record,) = await _records(runtime)
    assert (record.state, record.attempts, record.response_status) == ("completed", 1, 201)
    assert record.idempotency_key == key
    assert record.route == f"{PREFIX}/charges"


async def test_thirty_two_concurrent_requests_with_one_key_execute_once(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    behaviour.hold_seconds = 0.2  # the first attempt is still running when the others land
    key = _key()
    responses = await asyncio.gather(*(_post(api, auth, key) for _ in range(32)))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert 409 in statuses  # some arrived while the first attempt was running
    created = [r for r in responses if r.status_code == 201]
    fresh = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1
    assert len({r.content for r in created}) == 1
    for response in responses:
        if response.status_code == 409:
            problem = _problem(response, 409, "idempotency_request_in_flight")
            assert response.headers["retry-after"] == "1"
            assert problem["retry_after"] == 1
    assert behaviour.calls == 1
    assert await _charges(runtime) == 1

    # Once the first attempt is done, every retry gets its response.
    again = await _post(api, auth, key)
    assert again.status_code == 201
    assert again.content == fresh[0].content
    assert again.headers["idempotent-replayed"] == "true"


async def test_same_key_with_another_request_is_422_and_nothing_runs(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    first = await _post(api, auth, key, {"amount_cents": 1000, "currency": "USD"})
    assert first.status_code == 201

    other_body = await _post(api, auth, key, {"amount_cents": 100000})
    problem = _problem(other_body, 422, "idempotency_key_reused")
    assert problem["field"] == "Idempotency-Key"
    same_body = {"amount_cents": 1000, "currency": "USD"}
    other_route = await _post(api, auth, key, same_body, url=f"{PREFIX}/refunds")
    _problem(other_route, 422, "idempotency_key_reused")
    assert behaviour.calls == 1
    assert await _charges(runtime) == 1

    # The same document re-serialized (other key order, whitespace) is the same request.
    reordered = await api.post(
        CHARGES,
        content=b'{ "currency" : "USD",  "amount_cents" : 1000 }',
        headers={**auth, "Idempotency-Key": key, "content-type": "application/json"},
    )
    assert first.json()["currency"] == "USD"
    assert reordered.status_code == 201
    assert reordered.headers["idempotent-replayed"] == "true"
    assert reordered.content == first.content
    assert behaviour.calls == 1


async def test_path_parameters_are_part_of_the_request(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    first = await _post(api, auth, key, url=f"{PREFIX}/wallets/w1/charges")
    assert first.status_code == 201
    other = await _post(api, auth, key, url=f"{PREFIX}/wallets/w2/charges")
    _problem(other, 422, "idempotency_key_reused")
    same = await _post(api, auth, key, url=f"{PREFIX}/wallets/w1/charges")
    assert same.content == first.content and same.headers["idempotent-replayed"] == "true"
    assert behaviour.calls == 1
    assert await _charges(runtime) == 1


@pytest.mark.parametrize("key", [None, "", "a b", "k" * 256, "clé"])
async def test_missing_or_invalid_key_is_400_and_nothing_runs(
    runtime: Runtime,
    money_app: FastAPI,
    api: httpx.AsyncClient,
    behaviour: Behaviour,
    key: str | None,
) -> None:
    auth = await _user(runtime, money_app)
    if key is not None and not key.isascii():
        # httpx refuses non-ASCII header values; send the raw UTF-8 bytes.
        response = await api.post(
            CHARGES,
            json={"amount_cents": 1999},
            headers=[
                *((name.encode(), value.encode()) for name, value in auth.items()),
                (b"Idempotency-Key", key.encode()),
            ],
        )
    else:
        response = await _post(api, auth, key)
    code = "idempotency_key_required" if not key else "idempotency_key_invalid"
    problem = _problem(response, 400, code)
    assert "Idempotency-Key" in problem["detail"]
    assert behaviour.calls == 0
    assert await _charges(runtime) == 0
    assert await _records(runtime) == []


async def test_keys_are_scoped_per_user(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    alice = await _user(runtime, money_app)
    bob = await _user(runtime, money_app)
    carol_intl = await _user(runtime, money_app, country="FR")
    key = "order-2026-11-26-0001"
    a = await _post(api, alice, key)
    b = await _post(api, bob, key, {"amount_cents": 5})  # another body: still not a reuse
    c = await _post(api, carol_intl, key)
    assert (a.status_code, b.status_code, c.status_code) == (201, 201, 201)
    assert len({a.json()["charge_id"], b.json()["charge_id"], c.json()["charge_id"]}) == 3
    assert c.json()["charge_id"].startswith("chg_intl_")
    assert behaviour.calls == 3
    assert await _charges(runtime, "us") == 2
    assert await _charges(runtime, "intl") == 1
    # Each user's retry replays that user's own response.
    assert (await _post(api, alice, key)).content == a.content
    assert (await _post(api, bob, key, {"amount_cents": 5})).content == b.content
    assert behaviour.calls == 3
    # The record lives in the user's home region only.
    assert len(await _records(runtime, "us")) == 2
    (intl_record,) = await _records(runtime, "intl")
    assert intl_record.region == "intl"


async def test_unauthenticated_requests_record_nothing(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    response = await _post(api, {}, _key())
    assert response.status_code == 401
    assert behaviour.calls == 0
    assert await _records(runtime) == []
    assert await _records(runtime, "intl") == []


async def test_body_validation_failure_records_nothing_and_the_key_stays_usable(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    invalid = await _post(api, auth, key, {"amount_cents": "a lot"})
    _problem(invalid, 422, "validation_failed")
    assert await _records(runtime) == []
    fixed = await _post(api, auth, key, {"amount_cents": 700})
    assert fixed.status_code == 201
    assert behaviour.calls == 1


async def test_in_flight_retry_is_409_with_retry_after(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    behaviour.gate = asyncio.Event()
    first = asyncio.create_task(_post(api, auth, key))
    await asyncio.wait_for(behaviour.entered.wait(), timeout=10)

    retry = await _post(api, auth, key)
    problem = _problem(retry, 409, "idempotency_request_in_flight")
    assert retry.headers["retry-after"] == "1" and problem["retry_after"] == 1
    (record,) = await _records(runtime)
    assert record.state == "in_flight"  # committed before the handler ran: others see it

    behaviour.gate.set()
    done = await asyncio.wait_for(first, timeout=30)
    assert done.status_code == 201
    replay = await _post(api, auth, key)
    assert replay.content == done.content and replay.headers["idempotent-replayed"] == "true"
    assert behaviour.calls == 1
    assert await _charges(runtime) == 1


async def test_problem_outcome_is_final_stored_and_replayed(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    refused = await _post(api, auth, key, {"amount_cents": 0})
    problem = _problem(refused, 422, "amount_refused")
    assert problem["instance"] == CHARGES
    assert "idempotent-replayed" not in refused.headers
    assert await _charges(runtime) == 0  # the endpoint's write was rolled back

    replay = await _post(api, auth, key, {"amount_cents": 0})
    assert replay.status_code == 422
    assert replay.content == refused.content
    assert replay.headers["content-type"] == "application/problem+json"
    assert replay.headers["idempotent-replayed"] == "true"
    assert behaviour.calls == 1
    (record,) = await _records(runtime)
    assert (record.state, record.response_status) == ("completed", 422)


async def test_crash_releases_the_key_and_a_retry_runs_again(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    behaviour.crash_next = 1
    crashed = await _post(api, auth, key)
    _problem(crashed, 500, "internal_error")
    assert await _charges(runtime) == 0  # the write before the crash did not commit
    (record,) = await _records(runtime)
    assert record.state == "in_flight"
    assert clock.as_utc(record.locked_until) <= clock.utcnow()  # released at once

    # Another request under the released key is still refused: the key stays bound to it.
    other = await _post(api, auth, key, {"amount_cents": 1})
    _problem(other, 422, "idempotency_key_reused")

    retried = await _post(api, auth, key)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["attempt"] == 2  # the endpoint knows an attempt came before
    assert behaviour.calls == 2
    assert await _charges(runtime) == 1
    replay = await _post(api, auth, key)
    assert replay.content == retried.content and replay.headers["idempotent-replayed"] == "true"
    (record,) = await _records(runtime)
    assert (record.state, record.attempts) == ("completed", 2)


async def test_dead_attempt_is_taken_over_after_its_lease_and_fenced_off(
    runtime: Runtime,
    money_app: FastAPI,
    api: httpx.AsyncClient,
    behaviour: Behaviour,
    fake_clock: list[datetime],
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    url = f"{PREFIX}/wallets/w9/charges"  # lease: 5 seconds
    first = await _post(api, auth, key, url=url)
    assert first.status_code == 201
    (record,) = await _records(runtime)
    user_id, fingerprint = record.user_id, record.fingerprint

    # A process claims a second key, then dies (no completion, no release).
    dead_key = _key()
    dead = await service.claim(
        runtime,
        region="us",
        user_id=user_id,
        key=dead_key,
        fingerprint=fingerprint,
        method="POST",
        route=f"{PREFIX}/wallets/{{wallet_id}}/charges",
        lease=timedelta(seconds=5),
    )
    assert isinstance(dead, service.Claim)
    _problem(await _post(api, auth, dead_key, url=url), 409, "idempotency_request_in_flight")

    fake_clock[0] += timedelta(seconds=6)
    taken = await _post(api, auth, dead_key, url=url)
    assert taken.status_code == 201 and taken.json()["attempt"] == 2
    assert behaviour.calls == 2

    # The dead attempt's lease token no longer completes the record.
    stale = service.StoredResponse(201, (("content-type", "application/json"),), b"{}")
    assert await service.complete_apart(runtime, dead, stale) is False
    assert not await service.release(runtime, dead)
    replay = await _post(api, auth, dead_key, url=url)
    assert replay.content == taken.content


async def test_records_expire_after_retention_and_are_purged(
    runtime: Runtime,
    money_app: FastAPI,
    api: httpx.AsyncClient,
    behaviour: Behaviour,
    fake_clock: list[datetime],
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    start = fake_clock[0]
    first = await _post(api, auth, key)
    assert first.status_code == 201
    (record,) = await _records(runtime)
    assert clock.as_utc(record.expires_at) - start >= RETENTION >= timedelta(hours=24)

    fake_clock[0] = start + RETENTION - timedelta(minutes=1)
    assert await service.purge_all(runtime) == {"us": 0, "intl": 0}
    kept = await _post(api, auth, key)
    assert kept.content == first.content and kept.headers["idempotent-replayed"] == "true"

    fake_clock[0] = start + RETENTION + timedelta(seconds=1)
    assert await service.purge_all(runtime) == {"us": 1, "intl": 0}
    assert await _records(runtime) == []
    # The key is free again: the same key now starts a new operation.
    again = await _post(api, auth, key, {"amount_cents": 42})
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["charge_id"] != first.json()["charge_id"]
    assert behaviour.calls == 2


async def test_expired_record_is_free_even_before_the_purge(
    runtime: Runtime,
    money_app: FastAPI,
    api: httpx.AsyncClient,
    behaviour: Behaviour,
    fake_clock: list[datetime],
) -> None:
    auth = await _user(runtime, money_app)
    key = _key()
    assert (await _post(api, auth, key)).status_code == 201
    fake_clock[0] += RETENTION + timedelta(seconds=1)
    reused = await _post(api, auth, key, {"amount_cents": 5})
    assert reused.status_code == 201 and "idempotent-replayed" not in reused.headers
    assert behaviour.calls == 2
    (record,) = await _records(runtime)
    assert record.attempts == 1 and record.state == "completed"


async def test_purge_keeps_an_attempt_that_still_holds_its_lease(
    runtime: Runtime, fake_clock: list[datetime]
) -> None:
    user = await create_user(runtime)
    claim = await service.claim(
        runtime,
        region="us",
        user_id=user.id,
        key="k1",
        fingerprint="f" * 64,
        method="POST",
        route="/x",
        lease=RETENTION * 2,  # longer than retention, only to probe the guard
    )
    assert isinstance(claim, service.Claim)
    fake_clock[0] += RETENTION + timedelta(hours=1)
    assert await service.purge_expired(runtime, "us") == 0
    fake_clock[0] += RETENTION
    assert await service.purge_expired(runtime, "us") == 1


async def test_stored_body_is_encrypted_and_erased_with_the_account(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient
) -> None:
    auth = await _user(runtime, money_app)
    response = await _post(api, auth, _key())
    charge_id = response.json()["charge_id"]
    (record,) = await _records(runtime)
    assert record.response_body_ct
    assert charge_id.encode() not in record.response_body_ct
    assert b"amount_cents" not in record.response_body_ct

    me = await api.get("/api/v1/me", headers=auth)
    assert me.status_code == 200
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        from shopreel.accounts import service as accounts

        user = await uow.region().get(User, record.user_id)
        assert user is not None
        principal = await accounts.load_principal(uow, runtime, user, auth="session")
        assert await erase_idempotency_records(uow, runtime, principal) == 1
    assert await _records(runtime) == []


async def test_problem_codes_are_stable(
    runtime: Runtime, money_app: FastAPI, api: httpx.AsyncClient
) -> None:
    """Every refusal of the idempotency layer is problem+json with its documented code."""
    auth = await _user(runtime, money_app)
    key = _key()
    assert (await _post(api, auth, key)).status_code == 201
    cases = [
        (await _post(api, auth, None), 400, "idempotency_key_required"),
        (await _post(api, auth, "has space"), 400, "idempotency_key_invalid"),
        (await _post(api, auth, key, {"amount_cents": 2}), 422, "idempotency_key_reused"),
    ]
    for response, status, code in cases:
        problem = _problem(response, status, code)
        assert problem["type"] == f"https://shopreel.dev/problems/{code}"


async def test_idempotency_needs_an_async_endpoint_and_free_parameter_names() -> None:
    def sync_endpoint() -> None:
        return None

    with pytest.raises(TypeError):
        idempotent(sync_endpoint)  # type: ignore[type-var]

    async def clashing(idempotency_request_: str) -> None:
        return None

    with pytest.raises(TypeError):
        idempotent(clashing)
    with pytest.raises(ValueError):
        idempotent(lease=timedelta(0))


def test_openapi_still_documents_the_endpoint(money_app: FastAPI) -> None:
    schema = money_app.openapi()
    operation = schema["paths"][CHARGES]["post"]
    assert "201" in operation["responses"]
    names = {p["name"] for p in operation.get("parameters", [])}
    assert not any(n.startswith("idempotency_") for n in names)
    assert "requestBody" in operation
