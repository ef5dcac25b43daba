"""``shopreel checkout``: the checkout's background work, run from a scheduler or a loop.

``shopreel checkout recover`` delivers due sandbox webhooks (``--webhooks``), then
reconciles stuck checkouts and expires reservations (``checkout.recovery``). Run it every
minute; ``--loop SECONDS`` keeps it running in the foreground.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console

from shopreel.config import get_settings
from shopreel.runtime import Runtime

checkout_app = typer.Typer(help="Checkout background work (recovery job).", no_args_is_help=True)
console = Console()


async def _once(grace_seconds: float, webhooks: bool) -> dict[str, Any]:
    from shopreel.checkout.recovery import recover
    from shopreel.kit.time import utcnow
    from shopreel.payments.sandbox import deliver_pending_webhooks

    runtime = Runtime.from_settings(get_settings())
    try:
        result: dict[str, Any] = {}
        if webhooks:
            delivery = await deliver_pending_webhooks(runtime, utcnow())
            result["webhooks"] = {
                "delivered": delivery.delivered,
                "failed": delivery.failed,
                "expired": delivery.expired,
            }
        report = await recover(runtime, grace=timedelta(seconds=grace_seconds))
        result.update(report.as_dict())
        return result
    finally:
        await runtime.close()


@checkout_app.command("recover")
def recover_command(
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds a checkout must sit untouched first.")
    ] = 120,
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks/--no-webhooks",
            help="First deliver due sandbox webhooks to SHOPREEL_BASE_URL (the server must run).",
        ),
    ] = False,
    loop: Annotated[float, typer.Option(min=0, help="Repeat every SECONDS (0: run once).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object a pass.")] = False,
) -> None:
    """Finish or undo stuck checkouts (no charge without an order, no hold kept forever)."""
    while True:
        result = asyncio.run(_once(grace, webhooks))
        if as_json:
            typer.echo(json.dumps(result, sort_keys=True))
        else:
            console.print(
                "recovery: {completed} completed, {expired} expired, {refused} refused, "
                "{money_returned} money returned, {reservations_expired} reservations "
                "expired".format(**result)
            )
        if not loop:
            return
        time.sleep(loop)
