"""Models of this domain (regional plane). Filled in by the work on issue #4."""

from __future__ import annotations
