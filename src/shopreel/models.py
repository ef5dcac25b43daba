"""Imports every model module so each plane's metadata is complete (migrations, tests)."""

from __future__ import annotations

from shopreel.accounts import models as accounts_models
from shopreel.cart import models as cart_models
from shopreel.catalog import models as catalog_models
from shopreel.checkout import models as checkout_models
from shopreel.content import models as content_models
from shopreel.events import models as events_models
from shopreel.governance import models as governance_models  # noqa: F401
from shopreel.idempotency import models as idempotency_models
from shopreel.inventory import models as inventory_models
from shopreel.ledger import models as ledger_models
from shopreel.orders import models as orders_models
from shopreel.payments import models as payments_models
from shopreel.planes import PLANE_BASES, PlaneKind
from shopreel.promotions import models as promotions_models
from shopreel.sellers import models as sellers_models
from shopreel.sovereignty import access_models as access_models
from shopreel.sovereignty import models as sovereignty_models
from shopreel.sovereignty import privacy_models as privacy_models

__all__ = [
    "accounts_models",
    "cart_models",
    "catalog_models",
    "checkout_models",
    "content_models",
    "events_models",
    "idempotency_models",
    "inventory_models",
    "ledger_models",
    "metadata_for",
    "orders_models",
    "payments_models",
    "promotions_models",
    "sellers_models",
    "sovereignty_models",
]


def metadata_for(kind: PlaneKind):  # type: ignore[no-untyped-def]
    return PLANE_BASES[kind].metadata
