"""Checkout: from cart to paid orders (regional plane), with stock reservations and payments."""
