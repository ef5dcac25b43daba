"""Signed tree heads are published periodically: the app signs a new head every
``SHOPREEL_AUDIT_PUBLISH_SECONDS`` when the log has grown (several processes may race:
``publish_tree_head`` serializes on the log lock and returns the existing head of a size)."""

from __future__ import annotations

import asyncio
import logging

from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit
from shopreel.sovereignty.signing import load_signer

log = logging.getLogger("shopreel.audit")


async def publish_if_grown(runtime: Runtime) -> int | None:
    """Sign a tree head over the whole log if it grew since the latest one; returns the new
    size, or None when there was nothing new."""
    async with runtime.databases.transaction(CONTROL) as session:
        size = await audit.log_size(session)
        latest = await audit.latest_tree_head(session)
        if size == 0 or (latest is not None and latest.tree_size >= size):
            return None
        head = await audit.publish_tree_head(session, load_signer(runtime.settings.key_dir))
        return head.tree_size


async def run_publisher(runtime: Runtime, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            size = await publish_if_grown(runtime)
            if size is not None:
                log.info("published signed tree head", extra={"fields": {"tree_size": size}})
        except Exception:  # a failed round is logged and retried next interval
            log.exception("publishing a signed tree head failed")
