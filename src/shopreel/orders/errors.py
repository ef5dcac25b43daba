"""Order error codes: stable strings clients can branch on."""

from __future__ import annotations

from enum import StrEnum

from shopreel.errors import Conflict, NotFound, ValidationFailed


class OrderErrorCode(StrEnum):
    ORDER_NOT_FOUND = "order_not_found"
    ILLEGAL_TRANSITION = "order_transition_not_allowed"
    INVALID_DRAFT = "invalid_order_draft"
    CREATION_CONFLICT = "orders_being_created"
    CONCURRENT_UPDATE = "order_concurrent_update"
    INVALID_CURSOR = "invalid_cursor"


class OrderNotFound(NotFound):
    """Also what another buyer's (or another shop's) order looks like: its existence is not
    revealed."""

    code = OrderErrorCode.ORDER_NOT_FOUND.value


class IllegalTransition(Conflict):
    code = OrderErrorCode.ILLEGAL_TRANSITION.value


class InvalidOrderDraft(ValidationFailed):
    """The checkout handed over an order whose parts do not add up: nothing is written."""

    code = OrderErrorCode.INVALID_DRAFT.value


class OrderCreationConflict(Conflict):
    """Another transaction created the same checkout's orders at the same moment; roll back
    and call again, which then returns the orders it created."""

    code = OrderErrorCode.CREATION_CONFLICT.value


class OrderConcurrentUpdate(Conflict):
    code = OrderErrorCode.CONCURRENT_UPDATE.value


class InvalidCursor(ValidationFailed):
    code = OrderErrorCode.INVALID_CURSOR.value
