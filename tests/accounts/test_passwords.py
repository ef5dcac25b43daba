from __future__ import annotations

from argon2 import extract_parameters

from shopreel.accounts import passwords


def test_hash_is_argon2id_with_owasp_parameters() -> None:
    encoded = passwords.hash_password("a long enough password")
    assert encoded.startswith("$argon2id$")
    params = extract_parameters(encoded)
    assert params.memory_cost >= 19456
    assert params.time_cost >= 2
    assert params.parallelism == 1
    assert params.salt_len >= 16


def test_verify_and_reject() -> None:
    encoded = passwords.hash_password("a long enough password")
    assert passwords.verify_password(encoded, "a long enough password")
    assert not passwords.verify_password(encoded, "a long enough passworD")
    assert not passwords.verify_password("not a hash", "x")


def test_same_password_hashes_differently() -> None:
    assert passwords.hash_password("a long enough password") != passwords.hash_password(
        "a long enough password"
    )


def test_password_rules() -> None:
    assert passwords.password_problem("short") is not None
    assert passwords.password_problem("aaaaaaaaaaaaaaaa") is not None
    assert passwords.password_problem("x" * 257) is not None
    assert passwords.password_problem("correct horse battery") is None
