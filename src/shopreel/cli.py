"""The ``shopreel`` command line (Typer + Rich)."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from shopreel.config import Settings, get_settings
from shopreel.errors import ShopReelError

if TYPE_CHECKING:
    from shopreel.demo.world import WorldSize

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="shopreel",
    help="ShopReel: social commerce with sovereign personal data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Databases of every plane.", no_args_is_help=True)
demo_app = typer.Typer(
    help="Demo world: 'shopreel demo' migrates, seeds and serves.", invoke_without_command=True
)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks; each prints one JSON object (last line).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(bench_app, name="bench")
governance_app = typer.Typer(help="Governance: allowlists and settings.", no_args_is_help=True)
app.add_typer(governance_app, name="governance")


def _register_audit() -> None:
    from shopreel.sovereignty.cli import audit_app

    app.add_typer(audit_app, name="audit")


_register_audit()


def _register_catalog() -> None:
    from shopreel.catalog.cli import catalog_app

    app.add_typer(catalog_app, name="catalog")


_register_catalog()


def _register_idempotency() -> None:
    from shopreel.idempotency.cli import idempotency_app

    app.add_typer(idempotency_app, name="idempotency")


_register_idempotency()


def _register_checkout() -> None:
    from shopreel.checkout.cli import checkout_app

    app.add_typer(checkout_app, name="checkout")


_register_checkout()


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: a one-line message, not a trace
        raise fail(f"invalid configuration: {exc}".splitlines()[0] + f" ({exc})") from None


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run every plane's migrations (global, each region, control) to the latest revision."""
    from shopreel.migrate import upgrade_all
    from shopreel.planes import Databases

    settings = _settings()
    planes = Databases(settings).planes()
    with _progress() as progress:
        task = progress.add_task("migrating planes", total=len(planes))

        def step(plane: object) -> None:
            progress.advance(task)

        try:
            upgrade_all(settings, on_plane=step)
        except Exception as exc:
            raise fail(f"migration failed: {type(exc).__name__}: {exc}") from None
    console.print(f"migrated {len(planes)} planes: " + ", ".join(p.name for p in planes))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the web app and JSON API (uvicorn)."""
    import uvicorn

    _settings()
    uvicorn.run(
        "shopreel.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[str, typer.Option(help="At least 12 characters.")],
    country: Annotated[str, typer.Option(help="ISO country code; picks the home region.")],
    role: Annotated[
        list[str], typer.Option(help="shopper, seller, creator or staff (repeatable).")
    ] = ["shopper"],  # noqa: B006 - Typer needs a literal default
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="Staff only: the jurisdiction they work under, e.g. US.")
    ] = None,
    staff_role: Annotated[
        list[str], typer.Option(help="Staff duties, e.g. support, trust_officer (repeatable).")
    ] = [],  # noqa: B006
) -> None:
    """Create a user account in the home region of its country."""
    from shopreel.accounts import service
    from shopreel.runtime import Runtime
    from shopreel.uow import UnitOfWork

    settings = _settings()

    async def run() -> tuple[str, str]:
        runtime = Runtime.from_settings(settings)
        try:
            async with UnitOfWork(runtime.databases) as uow:
                user = await service.sign_up(
                    uow,
                    runtime,
                    service.NewUser(
                        email=email,
                        password=password,
                        display_name=name or email.split("@")[0],
                        country=country,
                        roles=tuple(role),
                        jurisdiction=jurisdiction,
                        staff_roles=tuple(staff_role),
                    ),
                )
                return user.id, user.region
        finally:
            await runtime.close()

    try:
        user_id, region = asyncio.run(run())
    except ShopReelError as exc:
        raise fail(exc.detail) from None
    console.print(f"created {user_id} in region {region}")


@demo_app.callback()
def demo(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Migrate, seed the demo world (once) and serve it, printing the demo logins."""
    if ctx.invoked_subcommand is not None:
        return
    from shopreel.demo.seed import is_seeded

    db_upgrade()
    settings = _settings()
    _genesis(settings)
    if asyncio.run(is_seeded(settings)):
        console.print("demo data already present (run 'shopreel demo seed --reset' to rebuild)")
    else:
        _seed(settings, _default_size(), seed=42, videos=False)
    _print_logins(host, port)
    serve(host=host, port=port, workers=1)


def _default_size() -> WorldSize:
    from shopreel.demo.world import WorldSize

    return WorldSize()


def _print_logins(host: str, port: int) -> None:
    from shopreel.demo.world import DEMO_PASSWORD, DemoWorld

    console.print(f"\n[bold]ShopReel demo[/bold] at http://{host}:{port}")
    console.print(f"Demo logins (password for all: [bold]{DEMO_PASSWORD}[/bold]):")
    for login in DemoWorld(_default_size()).fixed_logins():
        console.print(
            f"  {login.role:<8} {login.email:<30} region {login.region:<5} {login.description}",
            highlight=False,
            soft_wrap=True,
        )
    console.print()


def _seed(settings: Settings, size: WorldSize, *, seed: int, videos: bool) -> None:
    from shopreel.demo.seed import seed_world

    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def report(kind: str, done: int, total: int) -> None:
            if kind not in tasks:
                tasks[kind] = progress.add_task(kind, total=total)
            progress.update(tasks[kind], completed=done)

        try:
            counts = asyncio.run(seed_world(settings, size, seed=seed, progress=report))
        except ShopReelError as exc:
            raise fail(exc.detail) from None
    console.print("seeded: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@demo_app.command("seed")
def demo_seed(
    sellers: Annotated[int, typer.Option(min=1, help="Sellers (shops).")] = 200,
    products: Annotated[int, typer.Option(min=1, help="Products (each with variants).")] = 2000,
    creators: Annotated[int, typer.Option(min=1, help="Creators.")] = 120,
    videos: Annotated[int, typer.Option(min=0, help="Videos.")] = 1500,
    shoppers: Annotated[int, typer.Option(min=1, help="Shoppers across both regions.")] = 1000,
    interactions: Annotated[int, typer.Option(min=0, help="Interaction events.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world).")] = 42,
    reset: Annotated[bool, typer.Option(help="Delete existing demo data first.")] = False,
) -> None:
    """Seed a deterministic demo world (migrates first)."""
    from shopreel.demo.seed import is_seeded, reset_demo
    from shopreel.demo.world import WorldSize

    db_upgrade()
    settings = _settings()
    if reset:
        asyncio.run(reset_demo(settings))
    elif asyncio.run(is_seeded(settings)):
        raise fail("demo data already present; pass --reset to rebuild it")
    _genesis(settings)
    size = WorldSize(
        sellers=sellers,
        products=products,
        creators=creators,
        videos=videos,
        shoppers=shoppers,
        interactions=interactions,
    )
    _seed(settings, size, seed=seed, videos=False)


def _genesis(settings: Settings) -> list[str]:
    from shopreel.governance.genesis import allowlist_packaged_policies
    from shopreel.planes import CONTROL
    from shopreel.runtime import Runtime
    from shopreel.sovereignty.broker import PolicySet

    async def run() -> list[str]:
        runtime = Runtime.from_settings(settings)
        try:
            async with runtime.databases.transaction(CONTROL) as session:
                return await allowlist_packaged_policies(
                    session, settings.region_names, PolicySet.default().text
                )
        finally:
            await runtime.close()

    return asyncio.run(run())


@governance_app.command("genesis")
def governance_genesis() -> None:
    """Installation step: allowlist the packaged access policies in every region that never
    had a policy set (audited; later changes need the region's trust officer)."""
    settings = _settings()
    written = _genesis(settings)
    if written:
        console.print("allowlisted the packaged policy set in: " + ", ".join(written))
    else:
        console.print("every region already has a policy set history; nothing written")


@bench_app.command("http")
def bench_http(
    seconds: Annotated[float, typer.Option(min=1, help="Seconds per measured phase.")] = 10,
    connections: Annotated[int, typer.Option(min=1, max=512, help="Concurrent connections.")] = 32,
) -> None:
    """Authenticated API read (GET /api/v1/me with a token) vs /healthz of the same server."""
    import json

    from shopreel.bench.http import run_http_bench

    result = run_http_bench(seconds, connections, None)
    console.print_json(json.dumps(result))
    print(json.dumps(result))


@bench_app.command("import")
def bench_import(
    products: Annotated[int, typer.Option(min=1, help="Products in the generated file.")] = 10_000,
    variants_per_product: Annotated[
        int, typer.Option(min=1, max=48, help="Variants per product.")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON line.")] = False,
) -> None:
    """Shopify CSV import (first import, no-op re-import) vs parsing alone, on fresh SQLite."""
    import json

    from shopreel.bench.importer import run_import_bench

    result = run_import_bench(products, variants_per_product)
    if not as_json:
        console.print_json(json.dumps(result))
    print(json.dumps(result))


@bench_app.command("flash-sale")
def bench_flash_sale(
    database_url: Annotated[
        str,
        typer.Option(
            envvar="SHOPREEL_BENCH_POSTGRES_URL",
            help="PostgreSQL server: throwaway databases are created on it and dropped.",
        ),
    ],
    buyers: Annotated[int, typer.Option(min=1, max=100_000, help="Buyers.")] = 1000,
    stock: Annotated[int, typer.Option(min=1, max=1_000_000, help="Units of the SKU.")] = 100,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1000, help="Buyers in flight (open connections).")
    ] = 200,
    hot_row_concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Connections of the raw hot-row run (default: min(concurrency, pool size)).",
        ),
    ] = None,
    hot_row_seconds: Annotated[float, typer.Option(min=0.5, help="Hot-row run length.")] = 5.0,
    server_workers: Annotated[int, typer.Option(min=1, max=16, help="Server processes.")] = 1,
    pool_size: Annotated[
        int,
        typer.Option(
            min=1, max=200, help="Server's pooled connections per plane and worker (no overflow)."
        ),
    ] = 30,
    profile: Annotated[
        bool, typer.Option("--profile", help="Sample pg_stat_activity during the sale.")
    ] = False,
    keep_databases: Annotated[
        bool, typer.Option("--keep-databases", help="Do not drop the databases (inspection).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON line.")] = False,
) -> None:
    """Flash sale through the full HTTP checkout (tokenize, checkout, pay) vs the raw hot-row
    rate of the same PostgreSQL, with oversold / lost / double-charge checks. Exits 1 when a
    correctness check fails."""
    import json

    from shopreel.bench.flash_sale import (
        FlashSaleError,
        FlashSaleOptions,
        print_summary,
        run_flash_sale_bench,
    )

    options = FlashSaleOptions(
        database_url=database_url,
        buyers=buyers,
        stock=stock,
        concurrency=concurrency,
        hot_row_concurrency=hot_row_concurrency,
        hot_row_seconds=hot_row_seconds,
        server_workers=server_workers,
        pool_size=pool_size,
        profile=profile,
        keep_databases=keep_databases,
    )

    def say(message: str) -> None:
        if not as_json:
            err_console.print(f"[dim]{message}…[/dim]", highlight=False)

    try:
        report = run_flash_sale_bench(options, say)
    except FlashSaleError as exc:
        raise fail(str(exc)) from None
    if not as_json:
        print_summary(report, console)
    print(json.dumps(report.result()))
    if not report.correct:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
