"""Child process of the crash test: pays one checkout through the app and is expected to die
at the boundary named by ``SHOPREEL_CHECKOUT_CRASH_AT`` (``os._exit``).

Usage: ``python -m tests.checkout.crash_child CHECKOUT_ID TOKEN IDEMPOTENCY_KEY`` with the
bearer token in ``CRASH_BEARER`` and the same ``SHOPREEL_*`` settings as the test."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx


async def main(checkout_id: str, card_token: str, key: str) -> int:
    from shopreel.app import create_app
    from shopreel.config import Settings
    from shopreel.runtime import Runtime

    runtime = Runtime.from_settings(Settings())
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.30", 53000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            response = await c.post(
                f"/api/v1/checkouts/{checkout_id}/pay",
                json={"token": card_token, "return_url": f"/checkout/{checkout_id}/return"},
                headers={
                    "Authorization": f"Bearer {os.environ['CRASH_BEARER']}",
                    "Idempotency-Key": key,
                },
            )
        print(response.status_code, response.text[:200])
        return 0
    finally:
        await runtime.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:4])))
