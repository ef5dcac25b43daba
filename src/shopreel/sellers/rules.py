"""Pure rules of seller onboarding: field validators, the application state machine and the
completeness check. No database, no I/O: everything here is tested without fixtures.

Validators return the normalized value or raise :class:`InvalidField` (a ``ValueError``) that
names the field; the service turns a batch of them into one 422 listing every problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shopreel.catalog.models import ShopStatus
from shopreel.sellers.errors import InvalidTransition
from shopreel.sellers.models import ApplicationKind, ApplicationState


class InvalidField(ValueError):
    """One field's value is not acceptable; ``field`` is its dotted path (``address.state``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ---- shop handles ------------------------------------------------------------------------------

HANDLE_MIN: Final = 3
HANDLE_MAX: Final = 64
_HANDLE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_HANDLES: Final = frozenset(
    {
        "admin",
        "administrator",
        "api",
        "app",
        "assets",
        "auth",
        "help",
        "login",
        "logout",
        "me",
        "new",
        "root",
        "seller",
        "sellers",
        "settings",
        "shop",
        "shopreel",
        "shops",
        "signup",
        "staff",
        "static",
        "support",
        "system",
        "trust",
        "www",
    }
)
"""Handles that would read as the platform speaking (``/shops/admin``, ``/shops/staff``)."""


def validate_handle(raw: str) -> str:
    """A shop handle: 3-64 of ``[a-z0-9-]``, no leading, trailing or double hyphen, not
    reserved. Upper case is folded; anything else is refused, never silently rewritten."""
    handle = raw.strip().lower()
    if not HANDLE_MIN <= len(handle) <= HANDLE_MAX:
        raise InvalidField("handle", f"Use {HANDLE_MIN} to {HANDLE_MAX} characters.")
    if not _HANDLE.fullmatch(handle):
        raise InvalidField(
            "handle",
            "Use lower-case letters, digits and single hyphens, not at the start or end.",
        )
    if handle in RESERVED_HANDLES:
        raise InvalidField("handle", f"The handle {handle!r} is reserved.")
    return handle


# ---- text --------------------------------------------------------------------------------------

SHOP_NAME_MAX: Final = 120
DESCRIPTION_MAX: Final = 2000
LEGAL_NAME_MAX: Final = 200
ADDRESS_LINE_MAX: Final = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def single_line(raw: str, field: str, maximum: int, *, required: bool = True) -> str:
    """Whitespace collapsed to single spaces; control characters refused."""
    if _CONTROL.search(raw) or "\n" in raw:
        raise InvalidField(field, "Use a single line of text without control characters.")
    value = " ".join(raw.split())
    if required and not value:
        raise InvalidField(field, "This cannot be empty.")
    if len(value) > maximum:
        raise InvalidField(field, f"Use at most {maximum} characters.")
    return value


def plain_text(raw: str, field: str, maximum: int) -> str:
    """Multi-line plain text (shown escaped, never as HTML): line endings normalized, control
    characters refused, surrounding whitespace trimmed."""
    value = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL.search(value.replace("\t", " ")):
        raise InvalidField(field, "Remove control characters.")
    if len(value) > maximum:
        raise InvalidField(field, f"Use at most {maximum} characters.")
    return value


# ---- tax ids -----------------------------------------------------------------------------------

_EIN = re.compile(r"^(\d{2})-(\d{7})$")
INVALID_EIN_PREFIXES: Final = frozenset(
    {"00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89"}
    | {"96", "97"}
)
"""EIN prefixes the IRS does not assign: the complement of the valid prefixes listed in
"How EINs are Assigned and Valid EIN Prefixes" (irs.gov, Small Business and Self-Employed):
01-06, 10-16, 20-27, 30-48, 50-68, 71-77, 80-88, 90-95, 98-99."""


def validate_ein(raw: str) -> str:
    """An Employer Identification Number written ``NN-NNNNNNN`` with an assigned prefix."""
    value = raw.strip()
    match = _EIN.fullmatch(value)
    if match is None:
        raise InvalidField("tax_id", "Enter the EIN as NN-NNNNNNN (nine digits).")
    if match.group(1) in INVALID_EIN_PREFIXES:
        raise InvalidField("tax_id", f"{match.group(1)} is not a prefix the IRS assigns.")
    if match.group(2) == "0000000":
        raise InvalidField("tax_id", "This is not a valid EIN.")
    return value


def validate_ssn_last4(raw: str) -> str:
    """The last four digits of a Social Security number (0000 is never issued)."""
    value = raw.strip()
    if not re.fullmatch(r"\d{4}", value):
        raise InvalidField("tax_id", "Enter the last 4 digits of your SSN.")
    if value == "0000":
        raise InvalidField("tax_id", "0000 is not a valid SSN ending.")
    return value


def validate_tax_id(kind: str, raw: str) -> str:
    if kind == ApplicationKind.BUSINESS.value:
        return validate_ein(raw)
    return validate_ssn_last4(raw)


# ---- addresses ---------------------------------------------------------------------------------

_USPS_CODES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC "
    "AS GU MP PR VI UM FM MH PW AA AE AP"
)
USPS_STATES: Final = frozenset(_USPS_CODES.split())
"""USPS two-letter codes: the 50 states, DC, the territories and freely associated states,
and the military "states" (AA, AE, AP)."""
_ZIP = re.compile(r"^(\d{5})(?:-(\d{4}))?$")
_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,14}$")


def validate_us_state(raw: str, field: str = "address.state") -> str:
    value = raw.strip().upper()
    if value not in USPS_STATES:
        raise InvalidField(field, "Use the two-letter USPS code, such as CA or NY.")
    return value


def validate_zip(raw: str, field: str = "address.postal_code") -> str:
    """A US ZIP code: 5 digits or ZIP+4 (``12345-6789``); 00000 does not exist."""
    value = raw.strip()
    match = _ZIP.fullmatch(value)
    if match is None or match.group(1) == "00000":
        raise InvalidField(field, "Enter a ZIP code: 5 digits, or ZIP+4 such as 94103-1234.")
    return value


def validate_postal_code(country: str, raw: str, field: str = "address.postal_code") -> str:
    if country == "US":
        return validate_zip(raw, field)
    value = " ".join(raw.split()).upper()
    if not _POSTAL.fullmatch(value):
        raise InvalidField(field, "Enter a postal code of 2 to 15 letters, digits or spaces.")
    return value


# ---- contact -----------------------------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_NANP = re.compile(r"^\+1[2-9]\d{2}[2-9]\d{6}$")


def validate_phone(raw: str, field: str = "contact.phone") -> str:
    """An E.164 number (``+`` then up to 15 digits, no leading zero); spaces, dots, dashes and
    parentheses are removed first. +1 numbers must also be valid NANP numbers."""
    value = re.sub(r"[\s().-]", "", raw)
    if not _E164.fullmatch(value):
        raise InvalidField(field, "Enter the number in international form, such as +14155550123.")
    if value.startswith("+1") and not _NANP.fullmatch(value):
        raise InvalidField(field, "This is not a valid North American number.")
    return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_contact_email(raw: str, field: str = "contact.email") -> str:
    value = raw.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise InvalidField(field, "Enter a valid email address.")
    return value


# ---- bank accounts (sandbox) -------------------------------------------------------------------

_ABA_WEIGHTS: Final = (3, 7, 1, 3, 7, 1, 3, 7, 1)
_ABA_PREFIXES: Final = frozenset(
    [f"{n:02d}" for n in range(0, 13)]
    + [f"{n:02d}" for n in range(21, 33)]
    + [f"{n:02d}" for n in range(61, 73)]
    + ["80"]
)
"""First two digits of an ABA routing number: 00 (U.S. government), 01-12 (Federal Reserve
districts), 21-32 (thrifts), 61-72 (electronic), 80 (traveler's checks)."""


def aba_checksum_ok(digits: str) -> bool:
    """The ABA check: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) is a multiple of 10."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits, _ABA_WEIGHTS, strict=True))
    return total % 10 == 0


def validate_routing_number(raw: str, field: str = "bank.routing_number") -> str:
    value = raw.strip()
    if not re.fullmatch(r"\d{9}", value):
        raise InvalidField(field, "A routing number has 9 digits.")
    if value == "000000000" or value[:2] not in _ABA_PREFIXES or not aba_checksum_ok(value):
        raise InvalidField(field, "This is not a valid ABA routing number.")
    return value


def validate_account_number(raw: str, field: str = "bank.account_number") -> str:
    value = raw.strip()
    if not re.fullmatch(r"\d{4,17}", value):
        raise InvalidField(field, "An account number has 4 to 17 digits.")
    return value


# ---- the state machine -------------------------------------------------------------------------


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


TRANSITIONS: Final[Mapping[tuple[str, Action], str]] = {
    (ApplicationState.DRAFT.value, Action.SUBMIT): ApplicationState.SUBMITTED.value,
    (ApplicationState.REJECTED.value, Action.SUBMIT): ApplicationState.SUBMITTED.value,
    (ApplicationState.SUBMITTED.value, Action.APPROVE): ApplicationState.APPROVED.value,
    (ApplicationState.SUBMITTED.value, Action.REJECT): ApplicationState.REJECTED.value,
    (ApplicationState.APPROVED.value, Action.SUSPEND): ApplicationState.SUSPENDED.value,
    (ApplicationState.SUSPENDED.value, Action.REINSTATE): ApplicationState.APPROVED.value,
}
"""Every legal move; anything else is a 409 ``invalid_transition``."""

SHOP_STATUS: Final[Mapping[str, str]] = {
    ApplicationState.DRAFT.value: ShopStatus.PENDING.value,
    ApplicationState.SUBMITTED.value: ShopStatus.PENDING.value,
    ApplicationState.REJECTED.value: ShopStatus.PENDING.value,
    ApplicationState.APPROVED.value: ShopStatus.APPROVED.value,
    ApplicationState.SUSPENDED.value: ShopStatus.SUSPENDED.value,
}
"""The public shop's status that follows from its application's state."""

EDITABLE_STATES: Final = frozenset({ApplicationState.DRAFT.value, ApplicationState.REJECTED.value})
STAFF_ACTIONS: Final = frozenset({Action.APPROVE, Action.REJECT, Action.SUSPEND, Action.REINSTATE})


def next_state(state: str, action: Action) -> str:
    """The state after ``action``; raises :class:`InvalidTransition` for an illegal move."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise InvalidTransition(
            f"A {state} application cannot be {_PAST[action]}.",
            extra={"state": state, "action": action.value},
        )
    return target


def allowed_actions(state: str) -> list[Action]:
    return [action for (source, action) in TRANSITIONS if source == state]


def is_editable(state: str) -> bool:
    return state in EDITABLE_STATES


_PAST: Final = {
    Action.SUBMIT: "submitted",
    Action.APPROVE: "approved",
    Action.REJECT: "rejected",
    Action.SUSPEND: "suspended",
    Action.REINSTATE: "reinstated",
}

# ---- reasons -----------------------------------------------------------------------------------

REASON_MAX: Final = 300
REASONS_MAX: Final = 10


def clean_reasons(raw: list[str], *, field: str = "reasons") -> list[str]:
    """A non-empty list of short one-line reasons (shown to the seller as written)."""
    reasons = [" ".join(r.split()) for r in raw]
    reasons = [r for r in reasons if r]
    if not reasons:
        raise InvalidField(field, "Give at least one reason.")
    if len(reasons) > REASONS_MAX:
        raise InvalidField(field, f"Give at most {REASONS_MAX} reasons.")
    if any(len(r) > REASON_MAX or _CONTROL.search(r) for r in reasons):
        raise InvalidField(field, f"Keep each reason to one line of at most {REASON_MAX} chars.")
    return reasons


# ---- completeness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


REQUIRED_ADDRESS: Final = ("line1", "city", "postal_code", "country")


def missing_fields(
    *,
    legal_name: str | None,
    address: Mapping[str, str | None] | None,
    tax_id: str | None,
    contact: Mapping[str, str | None] | None,
    bank: Mapping[str, str | None] | None,
) -> Completeness:
    """Every field a submission still lacks, as dotted paths, in form order (a US address
    also needs its state)."""
    missing: list[str] = []
    if not legal_name:
        missing.append("legal_name")
    address = address or {}
    parts = ["line1", "city", "state", "postal_code", "country"]
    if address.get("country") != "US":
        parts.remove("state")
    missing.extend(f"address.{part}" for part in parts if not address.get(part))
    if not tax_id:
        missing.append("tax_id")
    contact = contact or {}
    for part in ("email", "phone"):
        if not contact.get(part):
            missing.append(f"contact.{part}")
    if not bank or not bank.get("token"):
        missing.append("bank")
    return Completeness(tuple(missing))
