"""A small world for the API and page tests: two US buyers, one intl buyer, two shops, and
three orders placed through the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from shopreel.accounts.models import User
from shopreel.orders.models import Order
from shopreel.runtime import Runtime
from tests.fixtures.factories import create_user
from tests.fixtures.sellers import Seller, create_seller
from tests.orders.helpers import ADDRESS, draft, place

INTL_ADDRESS = {
    "name": "Zoe Käufer",
    "line1": "Hauptstr. 5",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


@dataclass
class World:
    alice: User  # US buyer of o1 (shop one) and o2 (shop two)
    bob: User  # US buyer without orders
    zoe: User  # intl buyer of o3 (shop one)
    one: Seller
    two: Seller
    o1: Order
    o2: Order
    o3: Order


@pytest.fixture
async def world(runtime: Runtime) -> AsyncIterator[World]:
    alice = await create_user(runtime, email="alice@example.com")
    bob = await create_user(runtime, email="bob@example.com")
    zoe = await create_user(runtime, email="zoe@example.com", country="DE")
    one = await create_seller(runtime, email="one@example.com")
    two = await create_seller(runtime, email="two@example.com")
    (o1,) = await place(
        runtime, draft(alice.id, one.shop.id), placed_at=datetime(2026, 12, 1, tzinfo=UTC)
    )
    (o2,) = await place(
        runtime,
        draft(alice.id, two.shop.id, ship_to={**ADDRESS, "state": "CA"}),
        placed_at=datetime(2026, 12, 3, tzinfo=UTC),
    )
    (o3,) = await place(
        runtime,
        draft(zoe.id, one.shop.id, ship_to=INTL_ADDRESS, tax_jurisdiction=""),
        placed_at=datetime(2026, 12, 2, tzinfo=UTC),
    )
    yield World(alice, bob, zoe, one, two, o1, o2, o3)
