"""``shopreel bench flash-sale``: many buyers, one SKU, the full HTTP checkout.

On the given PostgreSQL server the benchmark creates throwaway databases for every plane
(dropped afterwards, also on errors), migrates them, creates one approved shop with one live
product whose variant has ``stock`` units in one warehouse, and ``buyers`` US accounts with
``payments:write`` tokens. It starts the real server (``shopreel serve`` in a child process)
and sends every buyer through the checkout at once, bounded by ``concurrency`` open
connections: tokenize the test card, ``POST /api/v1/checkouts`` (one unit), and on 201
``POST /api/v1/checkouts/{id}/pay``, each money-moving call with its own Idempotency-Key.
``409 out_of_stock`` is an expected answer; everything else unexpected is counted.

Afterwards it stops the server, runs checkout's recovery job and reads the databases:
orders created, oversold units, lost payments (money held or taken without an order) and
charges per buyer; and it checks the stock invariant ``on_hand = available + reserved +
sold`` (see ``docs/inventory.md``). The raw hot-row rate of the same database
(:mod:`shopreel.bench.hot_row`) is measured in the same run, so the ratio
``orders_per_s / raw_hot_row_per_s`` compares checkout with the cheapest possible sale of
one unit on that database at that moment.

The buyers live in :mod:`shopreel.bench.flash_buyers`, the shop, the accounts and the audit
in :mod:`shopreel.bench.flash_world`; the flash-sale test drives those same pieces in
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import create_async_engine

from shopreel.bench.flash_buyers import ORDERED, SaleOutcome, raw_lanes, run_buyers
from shopreel.bench.flash_world import (
    Buyer,
    SaleAudit,
    SaleListing,
    audit_sale,
    create_buyers,
    create_sale_listing,
    run_recovery,
)
from shopreel.bench.hot_row import HotRowResult, measure_hot_row
from shopreel.bench.load import ServerProcess, free_port
from shopreel.config import Settings
from shopreel.migrate import upgrade_all
from shopreel.runtime import Runtime

PLANE_DATABASES: Final = ("global", "control", "us", "intl")
# The server under test keeps DEFAULT_POOL_SIZE connections per plane and opens no more
# (SHOPREEL_DB_POOL_SIZE, SHOPREEL_DB_MAX_OVERFLOW=0): overflow connections are opened and
# closed again under a burst, which costs more than waiting for a pooled one. So checkout
# never has more than that many statements on the hot row at once.
DEFAULT_POOL_SIZE: Final = 30
WARMUP_PURCHASES: Final = 3


class FlashSaleError(Exception):
    """A one-line reason the benchmark cannot run (bad URL, server unreachable …)."""


# ---- the PostgreSQL server and its throwaway databases ---------------------------------------


def admin_url(database_url: str) -> URL:
    """The server's ``postgres`` maintenance database, as a psycopg-ready URL."""
    try:
        parsed = make_url(database_url.strip())
    except (ArgumentError, ValueError):
        raise FlashSaleError(f"not a database URL: {database_url!r}") from None
    if parsed.get_backend_name() != "postgresql":
        raise FlashSaleError(
            f"--database-url must be a postgresql:// URL (got {parsed.drivername!r}): the "
            "flash sale measures PostgreSQL row locks"
        )
    return parsed.set(drivername="postgresql", database="postgres")


def _conninfo(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def check_server(database_url: str) -> tuple[URL, str, int]:
    """Connect once; returns (admin URL, server version, max_connections)."""
    url = admin_url(database_url)
    try:
        with psycopg.connect(_conninfo(url), connect_timeout=5) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            limit = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise FlashSaleError(
            f"cannot connect to PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}: "
            f"{reason}"
        ) from None
    return url, version, limit


@contextlib.contextmanager
def throwaway_databases(
    admin: URL, names: Sequence[str], *, keep: bool = False
) -> Iterator[dict[str, str]]:
    """Create ``shopreel_bench_<run>_<name>`` per name; yields name -> URL; drops them on the
    way out (``WITH (FORCE)`` ends a crashed server's connections) unless ``keep``."""
    run = secrets.token_hex(4)
    created: dict[str, str] = {}
    try:
        with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
            for name in names:
                database = f"shopreel_bench_{run}_{name}"
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                created[name] = _conninfo(admin.set(database=database))
        yield created
    finally:
        if created and not keep:
            with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
                for db_url in created.values():
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(str(make_url(db_url).database))
                        )
                    )


# ---- what the database was busy with (optional profile) ---------------------------------------


class ActivitySampler:
    """Samples ``pg_stat_activity`` of the bench's databases every ``interval`` seconds while
    the sale runs: which statements were executing or waiting (and on what) tells where the
    database time of a checkout goes, without extensions."""

    def __init__(self, admin: URL, databases: Sequence[str], interval: float = 0.05) -> None:
        self.url = admin.set(drivername="postgresql+asyncpg")
        self.databases = list(databases)
        self.interval = interval
        self.samples: Counter[tuple[str, str, str]] = Counter()
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _run(self) -> None:
        engine = create_async_engine(self.url, pool_size=1, max_overflow=0)
        query = text(
            "SELECT datname, coalesce(wait_event_type || ':' || wait_event, 'cpu'), "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_activity "
            "WHERE datname = ANY(:names) AND state = 'active' AND pid <> pg_backend_pid()"
        )
        try:
            async with engine.connect() as conn:
                # autocommit: a transaction would see one frozen snapshot of the activity
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                while not self._stop.is_set():
                    for datname, wait, statement in await conn.execute(
                        query, {"names": self.databases}
                    ):
                        plane = str(datname).rsplit("_", 1)[-1]
                        self.samples[(plane, str(wait), str(statement))] += 1
                    self.rounds += 1
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.interval)
        finally:
            await engine.dispose()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def top(self, count: int = 12) -> list[dict[str, Any]]:
        """Most sampled (plane, wait, statement): ``busy`` is the average number of backends
        running it at any moment."""
        rounds = max(self.rounds, 1)
        return [
            {"plane": plane, "wait": wait, "statement": statement, "busy": round(n / rounds, 2)}
            for (plane, wait, statement), n in self.samples.most_common(count)
        ]


# ---- the benchmark ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FlashSaleOptions:
    database_url: str
    buyers: int = 1000
    stock: int = 100
    concurrency: int = 200
    hot_row_concurrency: int | None = None  # default: min(concurrency, pool_size)
    hot_row_seconds: float = 5.0
    server_workers: int = 1
    pool_size: int = DEFAULT_POOL_SIZE  # per plane and server worker
    profile: bool = False
    keep_databases: bool = False  # leave them for inspection (their names are printed)


@dataclass
class FlashSaleReport:
    options: FlashSaleOptions
    sale: SaleOutcome
    cpu: CpuUse
    audit: SaleAudit
    hot_row: HotRowResult
    setup_seconds: float
    machine: dict[str, Any]
    profile: list[dict[str, Any]]
    server_errors: list[tuple[str, int]] = field(default_factory=list)
    databases: dict[str, str] = field(default_factory=dict)  # kept ones only

    @property
    def orders_per_s(self) -> float:
        return self.audit.orders / self.sale.seconds if self.sale.seconds > 0 else 0.0

    @property
    def ratio(self) -> float:
        raw = self.hot_row.ops_per_s
        return self.orders_per_s / raw if raw > 0 else 0.0

    @property
    def correct(self) -> bool:
        audit = self.audit
        return (
            audit.oversold == 0
            and audit.lost == 0
            and audit.double_charged == 0
            and audit.invariant_holds
        )

    def result(self) -> dict[str, Any]:
        """The benchmark's JSON line: exactly these keys."""
        return {
            "buyers": self.options.buyers,
            "stock": self.options.stock,
            "orders": self.audit.orders,
            "oversold": self.audit.oversold,
            "lost": self.audit.lost,
            "orders_per_s": round(self.orders_per_s, 1),
            "raw_hot_row_per_s": round(self.hot_row.ops_per_s, 1),
            "ratio": round(self.ratio, 3),
        }


def _machine(server_version: str) -> dict[str, Any]:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux/macOS
        load = []
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg": load,
        "postgresql": server_version,
    }


@contextlib.contextmanager
def _data_dir(*, keep: bool) -> Iterator[str]:
    """A temporary data directory (the region keys live there), removed unless ``keep``."""
    path = tempfile.mkdtemp(prefix="shopreel-flash-")
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (regional URLs are read from
    ``SHOPREEL_DB_<REGION>`` by ``Settings.region_url``)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def _prepare(
    settings: Settings, options: FlashSaleOptions
) -> tuple[SaleListing, list[Buyer], list[Buyer]]:
    runtime = Runtime.from_settings(settings)
    try:
        listing = await create_sale_listing(runtime, options.stock, warmup_stock=WARMUP_PURCHASES)
        buyers = await create_buyers(runtime, options.buyers)
        warmup = await create_buyers(runtime, WARMUP_PURCHASES, label="warmup")
        return listing, buyers, warmup
    finally:
        await runtime.close()


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a process and its descendants, from /proc (Linux);
    None elsewhere."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total, stack = 0, [pid]
        while stack:
            current = stack.pop()
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        return total / ticks
    except (OSError, ValueError, IndexError):
        return None


def _busy_cpu_seconds() -> float | None:
    """CPU time spent by the whole machine (every core, everyone's work), from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = values[3] + values[4]  # idle, iowait
        return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class CpuUse:
    """CPU seconds spent during the sale phase by the server, the load generator (this
    process) and the whole machine (PostgreSQL, everything else, other users' work)."""

    server: float | None
    client: float
    machine: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "server_s": None if self.server is None else round(self.server, 2),
            "client_s": round(self.client, 2),
            "machine_s": None if self.machine is None else round(self.machine, 2),
        }


async def _sale(
    server: ServerProcess,
    listing: SaleListing,
    buyers: list[Buyer],
    warmup: list[Buyer],
    options: FlashSaleOptions,
    sampler: ActivitySampler | None,
) -> tuple[SaleOutcome, CpuUse]:
    assert listing.warmup_variant_id is not None and server.process is not None
    # Warm the server up (imports, first queries, pools) on another product.
    async with raw_lanes(server.base_url, 1) as lanes:
        warm = await run_buyers(warmup, listing.warmup_variant_id, lanes)
    if warm.outcomes[ORDERED] != len(warmup):
        raise FlashSaleError(f"warm-up purchases failed: {dict(warm.failures)}")
    width = max(1, min(options.concurrency, len(buyers)))
    pid = server.process.pid
    async with raw_lanes(server.base_url, width) as lanes:
        if sampler is not None:
            sampler.start()
        server_before, machine_before = _cpu_seconds(pid), _busy_cpu_seconds()
        client_before = time.process_time()
        try:
            outcome = await run_buyers(buyers, listing.variant_id, lanes)
        finally:
            if sampler is not None:
                await sampler.stop()
        server_after, machine_after = _cpu_seconds(pid), _busy_cpu_seconds()
        cpu = CpuUse(
            server=None
            if server_before is None or server_after is None
            else server_after - server_before,
            client=time.process_time() - client_before,
            machine=None
            if machine_before is None or machine_after is None
            else machine_after - machine_before,
        )
    return outcome, cpu


async def _audit(settings: Settings, listing: SaleListing, buyers: list[Buyer]) -> SaleAudit:
    runtime = Runtime.from_settings(settings)
    try:
        recovered = await run_recovery(runtime)
        audit = await audit_sale(runtime, listing, buyers)
        audit.recovery = recovered
        return audit
    finally:
        await runtime.close()


def run_flash_sale_bench(
    options: FlashSaleOptions, progress: Callable[[str], None] | None = None
) -> FlashSaleReport:
    """The whole benchmark; raises :class:`FlashSaleError` with a one-line reason."""
    say = progress or (lambda message: None)
    if options.buyers < 1 or options.stock < 1 or options.concurrency < 1:
        raise FlashSaleError("buyers, stock and concurrency must be at least 1")
    admin, server_version, max_connections = check_server(options.database_url)
    hot_concurrency = options.hot_row_concurrency or min(options.concurrency, options.pool_size)
    if hot_concurrency >= max_connections:
        raise FlashSaleError(
            f"hot-row concurrency {hot_concurrency} needs more connections than the server's "
            f"max_connections ({max_connections})"
        )
    began = time.perf_counter()
    with (
        _data_dir(keep=options.keep_databases) as tmp,
        throwaway_databases(admin, PLANE_DATABASES, keep=options.keep_databases) as urls,
    ):
        env = {
            "SHOPREEL_ENV": "dev",
            "SHOPREEL_DATA_DIR": str(Path(tmp)),
            "SHOPREEL_REGIONS": "us,intl",
            "SHOPREEL_DB_GLOBAL": urls["global"],
            "SHOPREEL_DB_CONTROL": urls["control"],
            "SHOPREEL_DB_US": urls["us"],
            "SHOPREEL_DB_INTL": urls["intl"],
            "SHOPREEL_SECRET_KEY": secrets.token_urlsafe(32),
            "SHOPREEL_LOG_LEVEL": "WARNING",
            "SHOPREEL_AUDIT_PUBLISH_SECONDS": "0",
            "SHOPREEL_DB_POOL_SIZE": str(options.pool_size),
            "SHOPREEL_DB_MAX_OVERFLOW": "0",
        }
        with _environment(env):
            settings = Settings(
                env="dev",
                data_dir=Path(tmp),
                regions="us,intl",
                db_global=urls["global"],
                db_control=urls["control"],
                secret_key=env["SHOPREEL_SECRET_KEY"],
                log_level="WARNING",
            )
            say("migrating the throwaway databases")
            upgrade_all(settings)
            say(f"creating the shop, {options.stock} units and {options.buyers} buyers")
            listing, buyers, warmup = asyncio.run(_prepare(settings, options))
            say(f"measuring the raw hot-row rate ({hot_concurrency} connections)")
            hot_row = asyncio.run(
                measure_hot_row(urls["global"], hot_concurrency, duration=options.hot_row_seconds)
            )
            setup_seconds = time.perf_counter() - began
            sampler = (
                ActivitySampler(admin, [make_url(u).database or "" for u in urls.values()])
                if options.profile
                else None
            )
            say(f"starting the server; the sale: {options.buyers} buyers")
            log = Path(tmp) / "server.log"
            with ServerProcess(env, free_port(), options.server_workers, log) as server:
                sale, cpu = asyncio.run(_sale(server, listing, buyers, warmup, options, sampler))
            server_errors = _server_errors(log)
            say("running recovery and reading the databases")
            audit = asyncio.run(_audit(settings, listing, buyers))
    return FlashSaleReport(
        options=options,
        sale=sale,
        cpu=cpu,
        audit=audit,
        hot_row=hot_row,
        setup_seconds=setup_seconds,
        machine=_machine(server_version),
        profile=sampler.top() if sampler is not None else [],
        server_errors=server_errors,
        databases={
            **{
                name: make_url(url).render_as_string(hide_password=True)
                for name, url in urls.items()
            },
            "data_dir": tmp,
        }
        if options.keep_databases
        else {},
    )


def print_summary(report: FlashSaleReport, console: Console) -> None:
    """The human summary (Rich); the JSON line is printed by the caller, last."""
    options, sale, audit, hot = report.options, report.sale, report.audit, report.hot_row
    console.rule("[bold]Flash sale[/bold]")
    console.print(
        f"{options.buyers} buyers, {options.stock} units of one SKU, {options.concurrency} "
        f"concurrent connections, {options.server_workers} server worker(s); "
        f"set-up {report.setup_seconds:.1f} s; machine {report.machine}",
        highlight=False,
    )
    outcomes = Table(title="What the buyers saw", show_header=True)
    outcomes.add_column("outcome")
    outcomes.add_column("buyers", justify="right")
    for name, count in sorted(sale.outcomes.items()):
        outcomes.add_row(name, str(count))
    for name, count in sorted(sale.failures.items()):
        outcomes.add_row(f"  failure {name}", str(count))
    if sale.retries:
        outcomes.add_row("  in-flight retries", str(sale.retries))
    console.print(outcomes)
    steps = Table(title="Requests (client-side latency)")
    for column in ("step", "count", "p50 ms", "p99 ms", "busy s"):
        steps.add_column(column, justify="left" if column == "step" else "right")
    for step, values in sale.latency_summary().items():
        steps.add_row(
            step,
            str(int(values["count"])),
            str(values["p50_ms"]),
            str(values["p99_ms"]),
            str(values["total_s"]),
        )
    console.print(steps)
    checks = Table(title="Read from the databases afterwards")
    checks.add_column("check")
    checks.add_column("value", justify="right")
    on_hand, reserved, sold = audit.level
    rows = [
        ("orders created", str(audit.orders)),
        ("units ordered", str(audit.units_ordered)),
        ("level on_hand / reserved / sold", f"{on_hand} / {reserved} / {sold}"),
        ("oversold", str(audit.oversold)),
        ("lost (money held or taken, no order)", str(audit.lost)),
        ("buyers charged", str(audit.charged_buyers)),
        ("buyers charged twice", str(audit.double_charged)),
        ("payments by status", json.dumps(audit.payments, sort_keys=True)),
        (
            "invariant on_hand = available + reserved + sold",
            "holds" if audit.invariant_holds else "; ".join(audit.invariant_problems[:3]),
        ),
        ("recovery", audit.recovery),
    ]
    for name, value in rows:
        checks.add_row(name, value)
    console.print(checks)
    console.print(
        f"sale phase {sale.seconds:.2f} s → [bold]{report.orders_per_s:.1f} orders/s[/bold]; "
        f"raw hot row {hot.ops_per_s:.1f} ops/s ({hot.concurrency} connections, "
        f"{hot.seconds:.1f} s, {hot.operations} decrements) → ratio "
        f"[bold]{report.ratio:.3f}[/bold] (target ≥ 0.5)",
        highlight=False,
    )
    if sale.outcomes[ORDERED]:
        console.print(
            f"the last order completed {sale.last_order_at:.2f} s into the sale "
            f"({sale.outcomes[ORDERED] / sale.last_order_at:.1f} orders/s until then); the "
            "rest of the phase answered the buyers who came too late",
            highlight=False,
        )
    cpu = report.cpu
    if cpu.server is not None and sale.seconds > 0:
        console.print(
            f"CPU during the sale: server {cpu.server:.1f} s "
            f"({cpu.server / sale.seconds:.0%} of one core), load generator {cpu.client:.1f} s "
            f"({cpu.client / sale.seconds:.0%}), whole machine "
            f"{(cpu.machine or 0) / sale.seconds:.2f} of {report.machine['cpus']} cores busy",
            highlight=False,
        )
    if report.profile:
        busy = Table(title="Database activity during the sale (pg_stat_activity samples)")
        for column in ("plane", "wait", "busy", "statement"):
            busy.add_column(column, justify="right" if column == "busy" else "left")
        for row in report.profile:
            busy.add_row(row["plane"], row["wait"], str(row["busy"]), row["statement"])
        console.print(busy)
    if report.server_errors:
        errors = Table(title="Errors in the server's log")
        errors.add_column("error")
        errors.add_column("count", justify="right")
        for error, count in report.server_errors:
            errors.add_row(error, str(count))
        console.print(errors)
    if report.databases:
        console.print("kept databases: " + ", ".join(report.databases.values()), highlight=False)
    if not report.correct:
        console.print("[red bold]correctness check failed[/red bold]")


def _server_errors(log: Path, limit: int = 8) -> list[tuple[str, int]]:
    """The server's logged errors, by their last traceback line (the exception), most
    frequent first."""
    counts: Counter[str] = Counter()
    with contextlib.suppress(OSError), log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict) or entry.get("level") not in ("error", "critical"):
                continue
            trace = [
                line.strip()
                for line in str(entry.get("exc") or "").splitlines()
                if line.strip() and not line.strip().startswith("(Background on this error")
            ]
            counts[(trace[-1] if trace else str(entry.get("msg", "")))[:160]] += 1
    return counts.most_common(limit)
