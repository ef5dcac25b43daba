"""``shopreel idempotency``: maintenance of idempotency records (purge past retention).

Run ``shopreel idempotency purge`` from a scheduler (hourly is plenty): records are kept at
least 24 hours and a claim already treats an expired record as free, so purging late only
costs disk space, and purging early is impossible.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console

from shopreel.config import get_settings
from shopreel.idempotency.service import purge_all
from shopreel.runtime import Runtime

idempotency_app = typer.Typer(
    help="Idempotency keys of money-moving requests.", no_args_is_help=True
)
console = Console()


@idempotency_app.command("purge")
def purge(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Delete idempotency records past retention in every region."""

    async def run() -> dict[str, int]:
        runtime = Runtime.from_settings(get_settings())
        try:
            return await purge_all(runtime)
        finally:
            await runtime.close()

    deleted = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps({"deleted": deleted, "total": sum(deleted.values())}))
        return
    for region, count in deleted.items():
        console.print(f"{region}: {count} expired idempotency record(s) deleted")
