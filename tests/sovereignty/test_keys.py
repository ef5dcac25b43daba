"""Tests for the key hierarchy and LocalKeyProvider."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from shopreel.sovereignty import keys
from shopreel.sovereignty.crypto import CryptoError, InvalidKeyError, new_data_key
from shopreel.sovereignty.keys import (
    WRAPPED_KEY_SIZE,
    InvalidRegionError,
    KeyFileError,
    KeyProvider,
    KeyUnwrapError,
    LocalKeyProvider,
    compute_kek_id,
    unwrap_with_kek,
    validate_region,
    wrap_with_kek,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file permissions")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def provider(key_dir: Path) -> LocalKeyProvider:
    return LocalKeyProvider(key_dir)


def test_local_provider_satisfies_protocol(provider: LocalKeyProvider) -> None:
    assert isinstance(provider, KeyProvider)


def test_wrap_unwrap_round_trip(provider: LocalKeyProvider) -> None:
    dek = new_data_key()
    wrapped = provider.wrap_data_key("us", dek)
    assert provider.unwrap_data_key("us", wrapped) == dek
    assert wrapped != provider.wrap_data_key("us", dek)  # fresh nonce


def test_wrapped_key_format(provider: LocalKeyProvider, key_dir: Path) -> None:
    wrapped = provider.wrap_data_key("us", new_data_key())
    assert len(wrapped) == WRAPPED_KEY_SIZE == 1 + 16 + 12 + 32 + 16
    assert wrapped[0] == 0x01
    kek = (key_dir / "us" / "kek.key").read_bytes()
    assert wrapped[1:17] == hashlib.sha256(kek).digest()[:16]
    assert provider.kek_id("us") == hashlib.sha256(kek).digest()[:16].hex()
    assert compute_kek_id(kek).hex() == provider.kek_id("us")


def test_other_region_cannot_unwrap(provider: LocalKeyProvider) -> None:
    wrapped_us = provider.wrap_data_key("us", new_data_key())
    with pytest.raises(KeyUnwrapError, match="wrong region"):
        provider.unwrap_data_key("eu", wrapped_us)


def test_other_region_provider_instance_cannot_unwrap(tmp_path: Path) -> None:
    us = LocalKeyProvider(tmp_path / "us-host")
    eu = LocalKeyProvider(tmp_path / "eu-host")
    wrapped = us.wrap_data_key("us", new_data_key())
    with pytest.raises(KeyUnwrapError):
        eu.unwrap_data_key("eu", wrapped)
    # Even a different host's KEK for the *same* region name is a different key.
    with pytest.raises(KeyUnwrapError):
        eu.unwrap_data_key("us", wrapped)


def test_region_binding_holds_even_with_a_copied_kek(
    provider: LocalKeyProvider, key_dir: Path
) -> None:
    """The AAD binds the region: copying A's KEK into B's slot still cannot open A's key."""
    dek = new_data_key()
    wrapped_us = provider.wrap_data_key("us", dek)
    (key_dir / "eu").mkdir(mode=0o700)
    shutil.copy2(key_dir / "us" / "kek.key", key_dir / "eu" / "kek.key")
    os.chmod(key_dir / "eu" / "kek.key", 0o600)
    fresh = LocalKeyProvider(key_dir)
    assert fresh.kek_id("eu") == fresh.kek_id("us")  # kek_id check passes...
    with pytest.raises(KeyUnwrapError, match="authentication"):
        fresh.unwrap_data_key("eu", wrapped_us)  # ...but the AAD check does not
    assert fresh.unwrap_data_key("us", wrapped_us) == dek


def test_rotated_kek_is_detected_by_kek_id() -> None:
    old_kek, new_kek = os.urandom(32), os.urandom(32)
    wrapped = wrap_with_kek(old_kek, "us", new_data_key())
    with pytest.raises(KeyUnwrapError, match="rotated"):
        unwrap_with_kek(new_kek, "us", wrapped)


def test_every_single_byte_tampering_of_wrapped_key_fails(provider: LocalKeyProvider) -> None:
    wrapped = provider.wrap_data_key("us", new_data_key())
    for position in range(len(wrapped)):
        tampered = bytearray(wrapped)
        tampered[position] ^= 0x01
        with pytest.raises(KeyUnwrapError):
            provider.unwrap_data_key("us", bytes(tampered))


@pytest.mark.parametrize("version", [0x00, 0x02, 0xFF])
def test_wrong_wrapped_key_version_fails(provider: LocalKeyProvider, version: int) -> None:
    wrapped = provider.wrap_data_key("us", new_data_key())
    with pytest.raises(KeyUnwrapError, match="version"):
        provider.unwrap_data_key("us", bytes([version]) + wrapped[1:])


def test_truncated_wrapped_key_fails(provider: LocalKeyProvider) -> None:
    wrapped = provider.wrap_data_key("us", new_data_key())
    for length in range(len(wrapped)):
        with pytest.raises(KeyUnwrapError):
            provider.unwrap_data_key("us", wrapped[:length])
    with pytest.raises(KeyUnwrapError):
        provider.unwrap_data_key("us", wrapped + b"\x00")


def test_wrap_rejects_bad_data_key(provider: LocalKeyProvider) -> None:
    with pytest.raises(InvalidKeyError):
        provider.wrap_data_key("us", b"\x00" * 31)


def test_errors_share_a_base_class() -> None:
    for exc in (KeyFileError, KeyUnwrapError, InvalidRegionError):
        assert issubclass(exc, CryptoError)


@posix_only
def test_key_files_and_dirs_created_private(provider: LocalKeyProvider, key_dir: Path) -> None:
    provider.kek_id("us")
    provider.blind_index_key("us")
    region_dir = key_dir / "us"
    assert _mode(region_dir) == 0o700
    for name in ("kek.key", "index.key"):
        path = region_dir / name
        assert path.is_file()
        assert _mode(path) == 0o600
        assert len(path.read_bytes()) == 32
    assert (region_dir / "kek.key").read_bytes() != (region_dir / "index.key").read_bytes()
    # No temporary files are left behind.
    assert sorted(p.name for p in region_dir.iterdir()) == ["index.key", "kek.key"]


@posix_only
def test_files_are_private_even_with_a_permissive_umask(key_dir: Path) -> None:
    old = os.umask(0)
    try:
        LocalKeyProvider(key_dir).kek_id("us")
    finally:
        os.umask(old)
    assert _mode(key_dir / "us") == 0o700
    assert _mode(key_dir / "us" / "kek.key") == 0o600


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700, 0o666])
def test_loose_permissions_refused(key_dir: Path, mode: int) -> None:
    LocalKeyProvider(key_dir).kek_id("us")
    path = key_dir / "us" / "kek.key"
    os.chmod(path, mode)
    with pytest.raises(KeyFileError) as info:
        LocalKeyProvider(key_dir).kek_id("us")
    message = str(info.value)
    assert str(path) in message
    assert "chmod 600" in message


@posix_only
def test_read_only_owner_permissions_accepted(key_dir: Path) -> None:
    kek_id = LocalKeyProvider(key_dir).kek_id("us")
    os.chmod(key_dir / "us" / "kek.key", 0o400)
    assert LocalKeyProvider(key_dir).kek_id("us") == kek_id


@posix_only
def test_group_writable_region_dir_refused(key_dir: Path) -> None:
    LocalKeyProvider(key_dir).kek_id("us")
    os.chmod(key_dir / "us", 0o770)  # noqa: S103 - deliberately unsafe
    with pytest.raises(KeyFileError, match="chmod 700"):
        LocalKeyProvider(key_dir).kek_id("us")


@posix_only
def test_symlinked_key_file_refused(key_dir: Path, tmp_path: Path) -> None:
    LocalKeyProvider(key_dir).kek_id("us")
    target = tmp_path / "elsewhere.key"
    target.write_bytes(os.urandom(32))
    os.chmod(target, 0o600)
    link = key_dir / "us" / "kek.key"
    link.unlink()
    link.symlink_to(target)
    with pytest.raises(KeyFileError):
        LocalKeyProvider(key_dir).kek_id("us")


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_wrong_length_key_file_refused(key_dir: Path, length: int) -> None:
    region_dir = key_dir / "us"
    region_dir.mkdir(parents=True, mode=0o700)
    path = region_dir / "index.key"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, b"\x42" * length)
    os.close(fd)
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="exactly 32"):
        LocalKeyProvider(key_dir).blind_index_key("us")


@pytest.mark.parametrize(
    "region",
    [
        "../x",
        "..",
        "us/../eu",
        "/etc",
        "US",
        "",
        "1us",
        "-us",
        "us_east",
        "us.east",
        "us\n",
        "a" * 17,
        "us east",
        "ü",
    ],
)
def test_invalid_region_names_refused(
    provider: LocalKeyProvider, key_dir: Path, region: str
) -> None:
    with pytest.raises(InvalidRegionError):
        provider.kek_id(region)
    with pytest.raises(InvalidRegionError):
        provider.wrap_data_key(region, new_data_key())
    with pytest.raises(InvalidRegionError):
        provider.blind_index_key(region)
    with pytest.raises(ValueError):  # InvalidRegionError is also a ValueError
        validate_region(region)
    assert not key_dir.exists() or not any(key_dir.iterdir())


@pytest.mark.parametrize("region", ["us", "eu-west-1", "a", "a" * 16, "ap-southeast-2"])
def test_valid_region_names_accepted(provider: LocalKeyProvider, region: str) -> None:
    assert validate_region(region) == region
    assert len(provider.kek_id(region)) == 32


def test_two_providers_on_same_dir_agree(key_dir: Path) -> None:
    first = LocalKeyProvider(key_dir)
    dek = new_data_key()
    wrapped = first.wrap_data_key("eu", dek)
    second = LocalKeyProvider(key_dir)
    assert second.kek_id("eu") == first.kek_id("eu")
    assert second.blind_index_key("eu") == first.blind_index_key("eu")
    assert second.unwrap_data_key("eu", wrapped) == dek


def test_keys_are_cached_in_memory(provider: LocalKeyProvider, key_dir: Path) -> None:
    kek_id = provider.kek_id("us")
    index_key = provider.blind_index_key("us")
    shutil.rmtree(key_dir)
    assert provider.kek_id("us") == kek_id
    assert provider.blind_index_key("us") == index_key


def test_regions_have_independent_keys(provider: LocalKeyProvider) -> None:
    assert provider.kek_id("us") != provider.kek_id("eu")
    assert provider.blind_index_key("us") != provider.blind_index_key("eu")


def test_concurrent_first_use_converges_on_one_key(key_dir: Path) -> None:
    """Many providers racing to create the same key files all end up with the same keys."""
    workers = 16
    barrier = threading.Barrier(workers)
    results: list[tuple[str, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            p = LocalKeyProvider(key_dir)
            barrier.wait()
            value = (p.kek_id("race"), p.blind_index_key("race"))
            with lock:
                results.append(value)
        except BaseException as exc:  # pragma: no cover - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    on_disk = (key_dir / "race" / "kek.key").read_bytes()
    assert results[0][0] == hashlib.sha256(on_disk).digest()[:16].hex()
    assert sorted(p.name for p in (key_dir / "race").iterdir()) == ["index.key", "kek.key"]


def test_race_loser_rereads_winner_file(key_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic race: the file appears after our existence check but before we publish."""
    region_dir = key_dir / "us"
    region_dir.mkdir(parents=True, mode=0o700)
    winner = os.urandom(32)
    real_read = keys._read_key_file
    calls = {"n": 0}

    def read_pretending_missing(path: Path) -> bytes:
        calls["n"] += 1
        if calls["n"] == 1:
            # Another process creates the file right after our (failed) read.
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.write(fd, winner)
            os.close(fd)
            raise FileNotFoundError(path)
        return real_read(path)

    monkeypatch.setattr(keys, "_read_key_file", read_pretending_missing)
    provider = LocalKeyProvider(key_dir)
    assert provider.kek_id("us") == hashlib.sha256(winner).digest()[:16].hex()
    assert (region_dir / "kek.key").read_bytes() == winner  # not overwritten
    assert sorted(p.name for p in region_dir.iterdir()) == ["kek.key"]  # temp file removed


def test_key_creation_failure_is_reported_and_cleaned_up(
    key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hard_links(src: object, dst: object) -> None:
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(keys.os, "link", no_hard_links)
    with pytest.raises(KeyFileError, match="cannot create key file"):
        LocalKeyProvider(key_dir).kek_id("us")
    assert list((key_dir / "us").iterdir()) == []  # no temp file left behind
