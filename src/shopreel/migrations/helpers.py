"""Helpers for migration scripts."""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import context

_REGION = re.compile(r"^[a-z][a-z0-9]{0,15}$")


def current_region() -> str:
    region = context.config.attributes.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        raise RuntimeError("regional migrations must be run with a region (shopreel db upgrade)")
    return region


def region_guard() -> sa.CheckConstraint:
    """``CHECK (region = '<this region>')``: the database itself refuses foreign rows."""
    region = current_region()
    return sa.CheckConstraint(f"region = '{region}'", name="home_region")
