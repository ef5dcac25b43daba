"""Who is making a request: an authenticated user of one home region."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Principal:
    id: str
    region: str
    email: str
    display_name: str
    country: str
    roles: tuple[str, ...]
    jurisdiction: str | None
    staff_roles: tuple[str, ...]
    auth: Literal["session", "token"]
    scopes: frozenset[str] = field(default_factory=frozenset)
    session_hash: str | None = None
    token_id: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_staff(self) -> bool:
        return "staff" in self.roles
