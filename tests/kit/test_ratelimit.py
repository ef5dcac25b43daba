from __future__ import annotations

import os

import pytest

from shopreel.kit.ratelimit import FailureCounter, MemoryFailureCounter, RedisFailureCounter
from tests.fixtures.services import require_redis


async def _exercise(counter: FailureCounter) -> None:
    assert await counter.count("k") == (0, 0)
    assert await counter.add("k", 60) == 1
    assert await counter.add("k", 60) == 2
    count, retry_after = await counter.count("k")
    assert count == 2 and 1 <= retry_after <= 60
    assert await counter.count("other") == (0, 0)
    await counter.reset("k")
    assert await counter.count("k") == (0, 0)


async def test_memory_counter() -> None:
    counter = MemoryFailureCounter()
    await _exercise(counter)
    await counter.close()


@pytest.mark.redis
async def test_redis_counter_shared_between_clients() -> None:
    url = require_redis()
    prefix = f"shopreel:test:{os.urandom(6).hex()}:"
    first, second = RedisFailureCounter(url, prefix=prefix), RedisFailureCounter(url, prefix=prefix)
    try:
        await _exercise(first)
        await first.add("shared", 60)
        assert (await second.count("shared"))[0] == 1  # another process sees the failure
        await second.reset("shared")
    finally:
        await first.close()
        await second.close()
