"""Request and response bodies of the seller onboarding API (Pydantic v2).

Limits here are generous outer bounds against oversized input; the real rules (handle
syntax, EIN prefixes, ABA checksum, ...) are in :mod:`.rules` so that pages and the API
report them identically."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Text = str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationCreate(_In):
    kind: Literal["individual", "business"]
    handle: str = Field(max_length=100, examples=["river-ceramics"])
    shop_name: str = Field(max_length=300, examples=["River Ceramics"])
    description: str = Field(default="", max_length=4000)


class AddressIn(_In):
    line1: str = Field(default="", max_length=300)
    line2: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=200)
    state: str = Field(default="", max_length=50)
    postal_code: str = Field(default="", max_length=30)
    country: str = Field(default="", max_length=2, examples=["US"])


class ContactIn(_In):
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=40, examples=["+14155550123"])


class BankIn(_In):
    """Sandbox bank account: only a token, the last 4 digits and the routing number are
    kept; the account number itself is discarded after validation."""

    routing_number: str = Field(max_length=20, examples=["011000015"])
    account_number: str = Field(max_length=40, examples=["000123456789"])


class ApplicationPatch(_In):
    """Replace the given sections; omitted sections are left as they are."""

    legal_name: str | None = Field(default=None, max_length=400)
    address: AddressIn | None = None
    tax_id: str | None = Field(
        default=None, max_length=20, description="Business: EIN NN-NNNNNNN; individual: SSN last 4"
    )
    contact: ContactIn | None = None
    bank: BankIn | None = None


class ShopSummary(BaseModel):
    id: str
    handle: str
    name: str
    status: str


class TaxIdMasked(BaseModel):
    type: Literal["ein", "ssn_last4"]
    last4: str


class BankMasked(BaseModel):
    token: str
    account_last4: str
    routing_last4: str


class HistoryEntry(BaseModel):
    from_state: str | None
    to_state: str
    by: Literal["you", "staff"]
    reasons: list[str]
    at: datetime


class ApplicationRead(BaseModel):
    id: str
    kind: str
    state: str
    region: str
    shop: ShopSummary
    legal_name: str | None
    address: dict[str, str] | None
    tax_id: TaxIdMasked | None
    contact: dict[str, str] | None
    bank: BankMasked | None
    rejection_reasons: list[str]
    missing: list[str]
    editable: bool
    submitted_at: datetime | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry]


class ShippingRead(BaseModel):
    default_handling_days: int
    flat_shipping_cents: int | None
    free_shipping_threshold_cents: int | None
    shipping_set_at: datetime | None


class ShopRead(BaseModel):
    id: str
    handle: str
    name: str
    description: str
    status: str
    country: str
    home_region: str
    logo_key: str | None
    shipping: ShippingRead
    created_at: datetime
    updated_at: datetime


class ShopPatch(_In):
    name: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=4000)


class ShippingIn(_In):
    default_handling_days: int = Field(examples=[2])
    flat_shipping_cents: int = Field(examples=[599])
    free_shipping_threshold_cents: int | None = Field(default=None, examples=[5000])


class PublicProduct(BaseModel):
    id: str
    title: str
    min_price_cents: int
    currency: str


class PublicShop(BaseModel):
    handle: str
    name: str
    description: str
    country: str
    logo_key: str | None
    products: list[PublicProduct]


class ChecklistItem(BaseModel):
    key: str
    title: str
    done: bool
    href: str


class Checklist(BaseModel):
    items: list[ChecklistItem]
    done: int
    total: int


class QueueItem(BaseModel):
    """One line of the staff queue: no personal data."""

    id: str
    shop_handle: str | None
    shop_name: str | None
    kind: str
    state: str
    submitted_at: datetime | None


class DecisionSummary(BaseModel):
    allowed: bool
    reasons: list[str]
    policy_version: str
    audit_seq: int


class StaffApplicationRead(BaseModel):
    id: str
    owner_id: str
    region: str
    kind: str
    state: str
    shop: ShopSummary | None
    personal_data: dict[str, object]
    submitted_at: datetime | None
    decided_at: datetime | None
    allowed_actions: list[str]
    decision: DecisionSummary


class RejectIn(_In):
    reasons: list[str] = Field(max_length=20, examples=[["The EIN does not match the name."]])


class SuspendIn(_In):
    reason: str = Field(max_length=1000)


class DecisionIn(_In):
    note: str = Field(default="", max_length=1000)


class DecisionRead(BaseModel):
    id: str
    state: str
    shop_status: str
    rejection_reasons: list[str]
    decided_at: datetime | None
    audit_seq: int
