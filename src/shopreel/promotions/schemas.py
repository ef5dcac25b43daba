"""Request and response bodies of the deals API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class DealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant_id: str = Field(min_length=1, max_length=64)
    deal_price_cents: int = Field(ge=1, le=10**10)
    max_per_buyer: int = Field(ge=1, le=10)
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    ends_at: AwareDatetime


class DealRead(BaseModel):
    id: str
    shop_id: str
    product_id: str
    variant_id: str
    deal_price_cents: int
    list_price_cents: int
    reference_low_cents: int
    max_per_buyer: int
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    active: bool


class DealList(BaseModel):
    items: list[DealRead]
