"""One buyer's journey through the HTTP checkout, and many buyers at once.

A buyer tokenizes the sandbox test card, starts a checkout of one unit
(``POST /api/v1/checkouts``) and, on 201, pays it (``POST /api/v1/checkouts/{id}/pay``), each
money-moving call with its own Idempotency-Key. :func:`run_buyers` sends every buyer at once
over a set of lanes: keep-alive connections to a server (:func:`raw_lanes`, the benchmark) or
an in-process httpx client (:func:`httpx_sender`, the test).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from shopreel.bench.flash_world import Buyer
from shopreel.kit.time import utcnow

TEST_CARD: Final = "4242424242424242"
ADDRESS: Final = {
    "name": "Flash Buyer",
    "line1": "1 Main St",
    "line2": "",
    "city": "Austin",
    "state": "TX",
    "postal_code": "78701",
    "country": "US",
    "phone": "",
}


# ---- one buyer's journey ---------------------------------------------------------------------

Send = Callable[[str, str, Mapping[str, str], Any], Awaitable[tuple[int, Any]]]
"""``send(method, path, headers, json_body) -> (status, parsed JSON body or None)``."""

ORDERED: Final = "ordered"
SOLD_OUT: Final = "sold_out"
IN_FLIGHT_RETRIES: Final = 10


@dataclass
class SaleOutcome:
    """What the buyers saw: outcome per buyer, unexpected answers, latency per step."""

    outcomes: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    retries: int = 0
    seconds: float = 0.0
    last_order_at: float = 0.0  # seconds from the start to the last buyer's completed order

    def record(self, step: str, seconds: float) -> None:
        self.latencies.setdefault(step, []).append(seconds)

    def latency_summary(self) -> dict[str, dict[str, float]]:
        summary: dict[str, dict[str, float]] = {}
        for step, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            summary[step] = {
                "count": len(ordered),
                "p50_ms": round(statistics.median(ordered) * 1000, 1),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
                "total_s": round(sum(ordered), 2),
            }
        return summary


def _code(body: Any) -> str:
    return str(body.get("code", "")) if isinstance(body, dict) else ""


async def _call(
    send: Send,
    outcome: SaleOutcome,
    step: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: Any,
) -> tuple[int, Any]:
    """One request; a ``409 idempotency_request_in_flight`` (a retried request whose first
    attempt still runs) is retried with the same key after a pause, as a client should."""
    for _ in range(IN_FLIGHT_RETRIES):
        started = time.perf_counter()
        status, answer = await send(method, path, headers, body)
        outcome.record(step, time.perf_counter() - started)
        if status == 409 and _code(answer) == "idempotency_request_in_flight":
            outcome.retries += 1
            await asyncio.sleep(1)
            continue
        return status, answer
    return status, answer


async def buy(send: Send, buyer: Buyer, variant_id: str, outcome: SaleOutcome) -> str:
    """Tokenize the test card, start a checkout of one unit, pay it. Returns ``ordered``,
    ``sold_out`` or ``<step>:<status>:<code>`` for anything else."""
    auth = {"Authorization": f"Bearer {buyer.token}"}
    status, body = await _call(
        send,
        outcome,
        "tokenize",
        "POST",
        "/api/v1/payments/sandbox/tokens",
        {},
        {"number": TEST_CARD, "exp_month": 12, "exp_year": utcnow().year + 4, "cvc": "123"},
    )
    if status != 201:
        return f"tokenize:{status}:{_code(body)}"
    card = body["token"]
    status, body = await _call(
        send,
        outcome,
        "checkout",
        "POST",
        "/api/v1/checkouts",
        {**auth, "Idempotency-Key": f"checkout-{secrets.token_hex(8)}"},
        {"lines": [{"variant_id": variant_id, "quantity": 1}], "address": ADDRESS},
    )
    if status == 409 and _code(body) == "out_of_stock":
        return SOLD_OUT
    if status != 201:
        return f"checkout:{status}:{_code(body)}"
    checkout_id = body["id"]
    status, body = await _call(
        send,
        outcome,
        "pay",
        "POST",
        f"/api/v1/checkouts/{checkout_id}/pay",
        {**auth, "Idempotency-Key": f"pay-{secrets.token_hex(8)}"},
        {"token": card},
    )
    if status == 200 and isinstance(body, dict) and body.get("status") == "completed":
        return ORDERED
    detail = body.get("status", "") if status == 200 and isinstance(body, dict) else _code(body)
    return f"pay:{status}:{detail}"


async def run_buyers(
    buyers: Sequence[Buyer], variant_id: str, lanes: Sequence[Send]
) -> SaleOutcome:
    """Every buyer at once, at most ``len(lanes)`` in flight: a buyer takes a free lane (one
    keep-alive connection, or a shared in-process client) for its whole journey. The clock
    runs from the first request to the last buyer's answer."""
    outcome = SaleOutcome()
    free: asyncio.Queue[Send] = asyncio.Queue()
    for lane in lanes:
        free.put_nowait(lane)

    async def one(buyer: Buyer) -> None:
        lane = await free.get()
        try:
            result = await buy(lane, buyer, variant_id, outcome)
        except (
            OSError,
            asyncio.IncompleteReadError,
            ValueError,
            LookupError,
            TypeError,
            httpx.HTTPError,
        ) as exc:
            result = f"error:{type(exc).__name__}"
        finally:
            free.put_nowait(lane)
        if result == ORDERED:
            outcome.last_order_at = time.perf_counter() - started
        if result in (ORDERED, SOLD_OUT):
            outcome.outcomes[result] += 1
        else:
            outcome.outcomes["failed"] += 1
            outcome.failures[result] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(buyer) for buyer in buyers))
    outcome.seconds = time.perf_counter() - started
    return outcome


def httpx_sender(client: httpx.AsyncClient) -> Send:
    """A ``Send`` over an httpx client (in-process ASGI in tests)."""

    async def send(
        method: str, path: str, headers: Mapping[str, str], body: Any
    ) -> tuple[int, Any]:
        response = await client.request(method, path, json=body, headers=dict(headers))
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    return send


class RawConnection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for JSON
    requests. General-purpose async clients cost more CPU per request than the server under
    test on this machine (see ``bench/load.py``), which would measure the client."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> RawConnection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(
        self, method: str, path: str, headers: Mapping[str, str], body: Any
    ) -> tuple[int, Any]:
        """A request; on a connection the server closed (keep-alive timeout) the request is
        sent again on a new one: safe, every money-moving call carries an Idempotency-Key."""
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        for attempt in (1, 2):
            if self.writer is None:
                await self.open()
            try:
                return await self._exchange(raw)
            except (OSError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, raw: bytes) -> tuple[int, Any]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, closing = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value.strip())
            elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif lowered == b"connection" and b"close" in value.lower():
                closing = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append((await self.reader.readexactly(size + 2))[:size])
                if size == 0:
                    break
            data = b"".join(parts)
        else:
            data = await self.reader.readexactly(length) if length else b""
        if closing:
            self.close()
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None


@contextlib.asynccontextmanager
async def raw_lanes(base_url: str, count: int) -> AsyncIterator[list[Send]]:
    """``count`` open keep-alive connections to the server (opened before any clock starts),
    closed afterwards."""
    parsed = httpx.URL(base_url)
    connections = [RawConnection(parsed.host, parsed.port or 80) for _ in range(count)]
    try:
        for connection in connections:
            await connection.open()
        yield [connection.send for connection in connections]
    finally:
        for connection in connections:
            connection.close()
