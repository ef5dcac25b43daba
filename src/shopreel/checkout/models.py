"""checkout models (regional plane)."""

from __future__ import annotations
