"""Deterministic demo world: synthetic sellers, products, creators, videos and shoppers."""
