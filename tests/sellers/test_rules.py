"""Pure rules of seller onboarding: validators and the application state machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopreel.sellers import rules
from shopreel.sellers.errors import InvalidTransition
from shopreel.sellers.rules import Action, InvalidField

# ---- handles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("handle", ["abc", "river-ceramics", "a1-b2-c3", "x" * 64, "  Mixed-Case "])
def test_valid_handles(handle: str) -> None:
    assert rules.validate_handle(handle) == handle.strip().lower()


@pytest.mark.parametrize(
    "handle",
    [
        "ab",
        "x" * 65,
        "-lead",
        "trail-",
        "dou--ble",
        "under_score",
        "space d",
        "émoji",
        "admin",
        "api",
        "seller",
        "staff",
        "shopreel",
        "a.b",
    ],
)
def test_invalid_handles(handle: str) -> None:
    with pytest.raises(InvalidField) as caught:
        rules.validate_handle(handle)
    assert caught.value.field == "handle"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=0, max_size=70))
def test_handle_rule_matches_its_definition(raw: str) -> None:
    expected = (
        3 <= len(raw) <= 64
        and not raw.startswith("-")
        and not raw.endswith("-")
        and "--" not in raw
        and raw not in rules.RESERVED_HANDLES
    )
    try:
        assert rules.validate_handle(raw) == raw
        accepted = True
    except InvalidField:
        accepted = False
    assert accepted is expected


# ---- EIN and SSN ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ein", ["12-3456789", "01-0000001", "94-1234567", "99-9999999"])
def test_valid_eins(ein: str) -> None:
    assert rules.validate_ein(ein) == ein


@pytest.mark.parametrize(
    "prefix",
    [
        "00",
        "07",
        "08",
        "09",
        "17",
        "18",
        "19",
        "28",
        "29",
        "49",
        "69",
        "70",
        "78",
        "79",
        "89",
        "96",
        "97",
    ],
)
def test_ein_prefixes_the_irs_does_not_assign(prefix: str) -> None:
    with pytest.raises(InvalidField, match="prefix"):
        rules.validate_ein(f"{prefix}-1234567")


@pytest.mark.parametrize(
    "ein", ["123456789", "12-345678", "12-34567890", "1a-3456789", "", "12 3456789"]
)
def test_malformed_eins(ein: str) -> None:
    with pytest.raises(InvalidField):
        rules.validate_ein(ein)


@given(st.integers(0, 99), st.integers(1, 9_999_999))
def test_ein_accepted_exactly_for_assigned_prefixes(prefix: int, serial: int) -> None:
    ein = f"{prefix:02d}-{serial:07d}"
    valid_ranges = [
        (1, 6),
        (10, 16),
        (20, 27),
        (30, 48),
        (50, 68),
        (71, 77),
        (80, 88),
        (90, 95),
        (98, 99),
    ]
    assigned = any(lo <= prefix <= hi for lo, hi in valid_ranges)
    try:
        rules.validate_ein(ein)
        accepted = True
    except InvalidField:
        accepted = False
    assert accepted is assigned


def test_ssn_last4() -> None:
    assert rules.validate_ssn_last4(" 1234 ") == "1234"
    for bad in ("0000", "123", "12345", "12a4", ""):
        with pytest.raises(InvalidField):
            rules.validate_ssn_last4(bad)


def test_tax_id_follows_the_kind() -> None:
    assert rules.validate_tax_id("business", "12-3456789") == "12-3456789"
    assert rules.validate_tax_id("individual", "6789") == "6789"
    with pytest.raises(InvalidField):
        rules.validate_tax_id("individual", "12-3456789")
    with pytest.raises(InvalidField):
        rules.validate_tax_id("business", "6789")


# ---- ABA routing numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "routing", ["011000015", "021000021", "026009593", "121000358", "322271627"]
)
def test_real_routing_numbers_pass(routing: str) -> None:
    assert rules.validate_routing_number(routing) == routing


@pytest.mark.parametrize(
    "routing",
    ["011000016", "021000022", "000000000", "12345678", "1234567890", "99100001x", "991000019"],
)
def test_bad_routing_numbers_fail(routing: str) -> None:
    with pytest.raises(InvalidField):
        rules.validate_routing_number(routing)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_aba_checksum_is_the_weighted_sum(digits: str) -> None:
    d = [int(c) for c in digits]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    assert rules.aba_checksum_ok(digits) is (total % 10 == 0)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_exactly_one_check_digit_completes_eight_digits(prefix: str) -> None:
    completions = [c for c in "0123456789" if rules.aba_checksum_ok(prefix + c)]
    assert len(completions) == 1


def test_account_numbers() -> None:
    assert rules.validate_account_number("1234") == "1234"
    assert rules.validate_account_number("1" * 17) == "1" * 17
    for bad in ("123", "1" * 18, "12-34", ""):
        with pytest.raises(InvalidField):
            rules.validate_account_number(bad)


# ---- addresses and contact -----------------------------------------------------------------------


def test_zip_codes() -> None:
    assert rules.validate_zip("94103") == "94103"
    assert rules.validate_zip("94103-1234") == "94103-1234"
    for bad in ("9410", "941031", "94103-123", "94103 1234", "00000", "ABCDE"):
        with pytest.raises(InvalidField):
            rules.validate_zip(bad)


def test_us_states() -> None:
    assert rules.validate_us_state("ca") == "CA"
    assert rules.validate_us_state("DC") == "DC"
    assert rules.validate_us_state("PR") == "PR"
    for bad in ("XX", "California", "C", ""):
        with pytest.raises(InvalidField):
            rules.validate_us_state(bad)
    assert len(rules.USPS_STATES) == 63


def test_postal_codes_outside_the_us() -> None:
    assert rules.validate_postal_code("GB", "sw1a 1aa") == "SW1A 1AA"
    assert rules.validate_postal_code("SG", "048616") == "048616"
    with pytest.raises(InvalidField):
        rules.validate_postal_code("US", "SW1A 1AA")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155550123", "+14155550123"),
        ("+1 (415) 555-0123", "+14155550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+6561234567", "+6561234567"),
    ],
)
def test_valid_phones(raw: str, expected: str) -> None:
    assert rules.validate_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "4155550123",
        "+04155550123",
        "+1415555012",
        "+11155550123",
        "+1234567890123456",
        "+",
        "+1-800-FLOWERS",
    ],
)
def test_invalid_phones(raw: str) -> None:
    with pytest.raises(InvalidField):
        rules.validate_phone(raw)


@given(st.from_regex(r"\+[1-9][0-9]{1,14}", fullmatch=True))
def test_every_e164_number_outside_nanp_is_accepted(number: str) -> None:
    if number.startswith("+1"):
        return
    assert rules.validate_phone(number) == number


def test_text_rules() -> None:
    assert rules.single_line("  River   Ceramics ", "name", 120) == "River Ceramics"
    with pytest.raises(InvalidField):
        rules.single_line("two\nlines", "name", 120)
    with pytest.raises(InvalidField):
        rules.single_line("   ", "name", 120)
    assert rules.plain_text("a\r\nb\r", "description", 2000) == "a\nb"
    assert rules.plain_text("x" * 2000, "description", 2000) == "x" * 2000
    with pytest.raises(InvalidField):
        rules.plain_text("x" * 2001, "description", 2000)
    with pytest.raises(InvalidField):
        rules.plain_text("bell\x07", "description", 2000)


def test_reasons() -> None:
    assert rules.clean_reasons([" EIN  does not match ", "", "Address is a PO box"]) == [
        "EIN does not match",
        "Address is a PO box",
    ]
    for bad in ([], ["", "  "], ["x" * 301], ["r"] * 11):
        with pytest.raises(InvalidField):
            rules.clean_reasons(bad)


# ---- state machine -------------------------------------------------------------------------------

STATES = ["draft", "submitted", "approved", "rejected", "suspended"]
LEGAL = {
    ("draft", Action.SUBMIT): "submitted",
    ("rejected", Action.SUBMIT): "submitted",
    ("submitted", Action.APPROVE): "approved",
    ("submitted", Action.REJECT): "rejected",
    ("approved", Action.SUSPEND): "suspended",
    ("suspended", Action.REINSTATE): "approved",
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(Action))
def test_every_transition(state: str, action: Action) -> None:
    if (state, action) in LEGAL:
        assert rules.next_state(state, action) == LEGAL[(state, action)]
    else:
        with pytest.raises(InvalidTransition) as caught:
            rules.next_state(state, action)
        assert caught.value.status == 409 and caught.value.code == "invalid_transition"


def test_allowed_actions_and_editability() -> None:
    assert rules.allowed_actions("submitted") == [Action.APPROVE, Action.REJECT]
    assert rules.allowed_actions("approved") == [Action.SUSPEND]
    assert [s for s in STATES if rules.is_editable(s)] == ["draft", "rejected"]
    assert rules.SHOP_STATUS == {
        "draft": "pending",
        "submitted": "pending",
        "rejected": "pending",
        "approved": "approved",
        "suspended": "suspended",
    }


@given(st.lists(st.sampled_from(list(Action)), max_size=30))
def test_random_walks_stay_in_known_states(actions: list[Action]) -> None:
    state = "draft"
    for action in actions:
        try:
            state = rules.next_state(state, action)
        except InvalidTransition:
            continue
        assert state in STATES
        # approved is reachable only through a staff decision
        if state == "approved":
            assert action in (Action.APPROVE, Action.REINSTATE)


# ---- completeness --------------------------------------------------------------------------------

COMPLETE = {
    "legal_name": "Ada Lovelace",
    "address": {
        "line1": "1 Main St",
        "line2": "",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "country": "US",
    },
    "tax_id": "6789",
    "contact": {"email": "ada@example.com", "phone": "+14155550123"},
    "bank": {"token": "btok_sandbox_x", "account_last4": "6789", "routing_number": "011000015"},
}


def test_completeness_lists_every_missing_field_in_form_order() -> None:
    empty = rules.missing_fields(
        legal_name=None, address=None, tax_id=None, contact=None, bank=None
    )
    assert empty.missing == (
        "legal_name",
        "address.line1",
        "address.city",
        "address.postal_code",
        "address.country",
        "tax_id",
        "contact.email",
        "contact.phone",
        "bank",
    )
    assert rules.missing_fields(**COMPLETE).complete  # type: ignore[arg-type]
    no_state = {**COMPLETE, "address": {**COMPLETE["address"], "state": ""}}  # type: ignore[dict-item]
    assert rules.missing_fields(**no_state).missing == ("address.state",)  # type: ignore[arg-type]
    abroad = {**COMPLETE, "address": {**COMPLETE["address"], "state": "", "country": "GB"}}  # type: ignore[dict-item]
    assert rules.missing_fields(**abroad).complete  # type: ignore[arg-type]
