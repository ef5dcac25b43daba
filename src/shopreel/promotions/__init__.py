"""Promotions: flash deals (a deal price for a time window, capped per buyer)."""
