"""Idempotency keys for money-moving requests (replayed responses, in-flight guards)."""
