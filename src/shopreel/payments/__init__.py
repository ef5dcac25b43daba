"""Payments: the PaymentProvider interface and the built-in sandbox provider."""
