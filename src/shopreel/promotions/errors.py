"""Promotion error codes."""

from __future__ import annotations

from shopreel.errors import Conflict, NotFound, ValidationFailed


class DealNotFound(NotFound):
    """Also what another shop's deal looks like."""

    code = "deal_not_found"


class InvalidDeal(ValidationFailed):
    code = "invalid_deal"


class DealNotHonest(ValidationFailed):
    """The deal price is not below the lowest price of the last 30 days."""

    code = "deal_not_below_recent_low"


class DealOverlaps(Conflict):
    code = "deal_overlaps"
