"""The money ledger: double-entry, append-only, per currency, in each region."""
