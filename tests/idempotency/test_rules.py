"""The pure rules: key syntax, fingerprints, and the decision table for a known key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopreel.idempotency.errors import KeyInvalid, KeyRequired
from shopreel.idempotency.rules import (
    Outcome,
    canonical_body,
    decide,
    fingerprint,
    is_final,
    validate_key,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("key", ["a", "0f8fad5b-d9cb-469f-a165-70867728950e", "!~" * 10, "k" * 255])
def test_valid_keys_are_kept_as_sent(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", [None, ""])
def test_missing_key_is_required(key: str | None) -> None:
    with pytest.raises(KeyRequired) as error:
        validate_key(key)
    assert error.value.status == 400
    assert error.value.code == "idempotency_key_required"


@pytest.mark.parametrize(
    "key", ["k" * 256, "a b", " lead", "tab\there", "clé", "new\nline", "\x7f"]
)
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(KeyInvalid) as error:
        validate_key(key)
    assert error.value.status == 400
    assert error.value.code == "idempotency_key_invalid"


def test_canonical_body_ignores_json_layout_only() -> None:
    assert canonical_body(b'{"b": 1, "a": [1, 2]}') == canonical_body(b'{"a":[1,2],"b":1}')
    assert canonical_body(b'{"a": 1}') != canonical_body(b'{"a": 2}')
    assert canonical_body(b'{"a": "\\u00e9"}') == canonical_body('{"a":"é"}'.encode())
    assert canonical_body(b"") == b""
    assert canonical_body(b"not json {") == b"not json {"


def _fp(**overrides: object) -> str:
    base: dict[str, object] = {
        "method": "POST",
        "route": "/api/v1/orders/{order_id}/refund",
        "path_params": {"order_id": "ord_us_1"},
        "query": [],
        "body": b'{"amount_cents": 500}',
    }
    base.update(overrides)
    return fingerprint(**base)  # type: ignore[arg-type]


def test_fingerprint_covers_method_route_params_query_and_body() -> None:
    reference = _fp()
    assert len(reference) == 64
    assert _fp(body=b'{ "amount_cents" : 500 }') == reference
    assert _fp(method="post") == reference
    for changed in (
        _fp(method="PUT"),
        _fp(route="/api/v1/orders/{order_id}/cancel"),
        _fp(path_params={"order_id": "ord_us_2"}),
        _fp(query=[("expand", "lines")]),
        _fp(body=b'{"amount_cents": 501}'),
        _fp(body=b""),
    ):
        assert changed != reference


def _decide(state: str, same: bool, lease: timedelta, age: timedelta) -> Outcome:
    return decide(
        state=state,
        same_fingerprint=same,
        locked_until=NOW + lease,
        expires_at=NOW + timedelta(hours=24) - age,
        now=NOW,
    )


def test_decision_table() -> None:
    fresh, old = timedelta(0), timedelta(hours=25)
    running, over = timedelta(seconds=30), timedelta(seconds=-1)
    assert _decide("completed", True, over, fresh) is Outcome.REPLAY
    assert _decide("completed", False, over, fresh) is Outcome.REUSED
    assert _decide("in_flight", True, running, fresh) is Outcome.IN_FLIGHT
    assert _decide("in_flight", False, running, fresh) is Outcome.REUSED
    assert _decide("in_flight", True, over, fresh) is Outcome.TAKE_OVER
    assert _decide("in_flight", False, over, fresh) is Outcome.REUSED
    # Past retention the key is free again, whatever the request, unless an attempt
    # still holds its lease.
    assert _decide("completed", False, over, old) is Outcome.RESET
    assert _decide("in_flight", True, over, old) is Outcome.RESET
    assert _decide("in_flight", True, running, old) is Outcome.IN_FLIGHT


@pytest.mark.parametrize(
    ("status", "final"),
    [
        *[(status, True) for status in (200, 201, 204, 402, 404, 409, 422)],
        *[(status, False) for status in (408, 425, 429, 500, 502, 503)],
    ],
)
def test_which_outcomes_are_final(status: int, final: bool) -> None:
    assert is_final(status) is final
