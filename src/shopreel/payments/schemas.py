"""Request and response bodies of the payments API (Pydantic v2)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SandboxCardIn(_In):
    """A sandbox test card. The number is validated and discarded: only the token, brand,
    last four digits and expiry come back, and nothing is stored."""

    number: str = Field(max_length=40, examples=["4242 4242 4242 4242"])
    exp_month: int = Field(ge=1, le=12, examples=[12])
    exp_year: int = Field(ge=0, le=2199, examples=[2030])
    cvc: str = Field(max_length=8, examples=["123"])


class SandboxTokenRead(BaseModel):
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class AuthorizeIn(_In):
    token: str = Field(max_length=400, examples=["tok_sandbox_..."])
    return_url: str | None = Field(
        default=None,
        max_length=1000,
        description="Where the sandbox's second-step page sends the buyer back (our pages only).",
    )


class PaymentRead(BaseModel):
    id: str
    reference: str
    provider: str
    status: str
    amount_cents: int
    currency: str
    authorized_cents: int
    captured_cents: int
    refunded_cents: int
    card_brand: str | None
    card_last4: str | None
    decline_code: str | None
    decline_message: str | None
    next_action_url: str | None
    created_at: datetime
    updated_at: datetime


class PaymentList(BaseModel):
    items: list[PaymentRead]


class WebhookAck(BaseModel):
    received: bool = True
    event_id: str
    outcome: str
