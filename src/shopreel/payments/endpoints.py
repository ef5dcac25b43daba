"""Placeholder: routes are added by the work on issue #4."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
