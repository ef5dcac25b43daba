"""Fixed-window failure counters: in-process by default, Redis when configured.

Used for login throttling. Keys are HMACs (never raw emails or IP addresses)."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from redis.asyncio import Redis


class FailureCounter(Protocol):
    async def count(self, key: str) -> tuple[int, int]:
        """(failures in the current window, seconds until the window ends)."""

    async def add(self, key: str, window_seconds: int) -> int:
        """Record a failure; returns the new count."""

    async def reset(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryFailureCounter:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()

    async def count(self, key: str) -> tuple[int, int]:
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is None or entry[1] <= now:
            return 0, 0
        return entry[0], max(1, int(entry[1] - now + 0.999))

    async def add(self, key: str, window_seconds: int) -> int:
        async with self._lock:
            now = time.monotonic()
            count, expires = self._entries.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + window_seconds
            count += 1
            self._entries[key] = (count, expires)
            if len(self._entries) > 100_000:
                self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
            return count

    async def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    async def close(self) -> None:
        self._entries.clear()


class RedisFailureCounter:
    """Shared across processes: ``INCR`` + ``EXPIRE NX`` in one transaction."""

    def __init__(self, url: str, prefix: str = "shopreel:fail:") -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix

    async def count(self, key: str) -> tuple[int, int]:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(name)
            pipe.ttl(name)
            raw, ttl = await pipe.execute()
        if raw is None:
            return 0, 0
        return int(raw), max(1, int(ttl))

    async def add(self, key: str, window_seconds: int) -> int:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()
