"""Interaction events: behavioral data is personal data, so it lives in the home region."""
