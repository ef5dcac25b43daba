"""Crash points for the crash test: the checkout calls :func:`boundary` between its steps.

When ``SHOPREEL_CHECKOUT_CRASH_AT`` names a boundary, the process dies there at once
(``os._exit``: no exception handler, no ``finally``, no commit), exactly like a machine
that lost power. The variable is read only outside production (``SHOPREEL_ENV`` is not
``prod``), so it cannot take a live server down. ``tests/checkout/test_crash.py`` runs a
checkout in a child process with each boundary, then retries and reconciles.
"""

from __future__ import annotations

import os
from typing import Final

CRASH_ENV: Final = "SHOPREEL_CHECKOUT_CRASH_AT"
CRASH_EXIT_CODE: Final = 86
BOUNDARIES: Final = (
    "pay.payment_created",  # our payment row is committed; the provider was not called
    "pay.authorized",  # the provider authorized; our record of it is not committed
    "finalize.claimed",  # the stock is sold (global); nothing captured yet
    "finalize.captured",  # the provider captured; no order written
    "finalize.orders_written",  # orders and ledger flushed, not committed
)


async def boundary(name: str) -> None:
    target = os.environ.get(CRASH_ENV)
    if not target or target != name:
        return
    if os.environ.get("SHOPREEL_ENV", "dev") in ("prod", "production"):
        return
    os._exit(CRASH_EXIT_CODE)
