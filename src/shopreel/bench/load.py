"""A small closed-loop HTTP load generator (async httpx) and a throwaway server process."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    """Send one keep-alive GET and read the whole response; returns the status code."""
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def run_load(
    url: str,
    *,
    seconds: float,
    connections: int,
    headers: Mapping[str, str] | None = None,
    max_requests: int = 2_000_000,
) -> LoadResult:
    """``connections`` keep-alive connections each send GETs back to back for ``seconds``.

    A raw asyncio HTTP/1.1 client: general-purpose async clients spend more CPU per request
    than the server under test, which would measure the client instead of the server."""
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    target = parsed.raw_path.decode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    raw = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline and len(latencies) < max_requests:
                started = time.perf_counter()
                try:
                    status = await _request(reader, writer, raw)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    count = len(latencies)
    p50 = statistics.median(latencies) * 1000 if count else 0.0
    p99 = latencies[min(count - 1, int(count * 0.99))] * 1000 if count else 0.0
    return LoadResult(count, errors, elapsed, count / elapsed if elapsed else 0.0, p50, p99)


class ServerProcess:
    """``shopreel serve`` in a child process with the given environment."""

    def __init__(
        self, env: Mapping[str, str], port: int, workers: int = 1, log: Path | None = None
    ) -> None:
        self.port = port
        self.env = {**os.environ, **env}
        self.workers = workers
        self.log = log  # the server's stderr goes there (default: discarded)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        stderr = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "shopreel",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        if not isinstance(stderr, int):
            stderr.close()  # the child has its own copy
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("benchmark server did not start within 30 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
