"""Pricing rules: line prices, discounts, shipping, U.S. sales tax, totals (pure)."""
