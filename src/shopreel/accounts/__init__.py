"""Accounts: users, credentials, web sessions, API tokens. Regional plane."""
