"""The audit log service: leaves, seq allocation, tree heads, proofs, verification, signing key."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from shopreel.config import Settings
from shopreel.errors import NotFound, ValidationFailed
from shopreel.kit.time import set_clock
from shopreel.planes import CONTROL, GLOBAL, PlaneViolation, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit, merkle
from shopreel.sovereignty.audit import SignedHead
from shopreel.sovereignty.models import AuditEntry
from shopreel.sovereignty.signing import (
    KeyFileError,
    TreeHeadSigner,
    clear_signer_cache,
    load_signer,
    public_key_bytes,
    public_key_id,
    signing_key_path,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file permissions")


# ---- helpers shared by the other audit test modules ------------------------------------------


def signer_for(settings: Settings) -> TreeHeadSigner:
    return load_signer(settings.key_dir)


def attributes_for(index: int) -> dict[str, Any]:
    return {
        "allowed": index % 3 == 0,
        "n": index,
        "reasons": ["staff-support-own-region", f"p{index % 5}"],
        "note": "naïve café ✓",
        "amount": {"currency": "EUR", "minor": index * 7},
    }


async def append_entries(runtime: Runtime, count: int, *, kind: str = "access.decision") -> None:
    """Append ``count`` entries in one control-plane transaction."""
    async with runtime.databases.transaction(CONTROL) as session:
        for _ in range(count):
            index = await audit.log_size(session)
            await audit.append(
                session,
                kind=kind,
                actor_id=f"usr_us_{index % 7}",
                subject_id=f"usr_intl_{index}",
                region="us" if index % 2 else "intl",
                attributes=attributes_for(index),
            )


async def publish(runtime: Runtime, signer: TreeHeadSigner) -> SignedHead:
    async with runtime.databases.transaction(CONTROL) as session:
        return SignedHead.from_row(await audit.publish_tree_head(session, signer))


async def verify(
    runtime: Runtime, signer: TreeHeadSigner, known: list[SignedHead] | None = None
) -> audit.VerificationReport:
    async with runtime.databases.session(CONTROL) as session:
        return await audit.verify_log(session, signer.public_key, known_heads=known or [])


@pytest.fixture
def signer(settings: Settings) -> TreeHeadSigner:
    return signer_for(settings)


@pytest.fixture
def frozen_clock() -> Iterator[datetime]:
    moment = datetime(2026, 11, 26, 9, 0, 0, 123456, tzinfo=UTC)
    set_clock(lambda: moment)
    yield moment
    set_clock(None)


# ---- append ----------------------------------------------------------------------------------


async def test_append_writes_the_canonical_leaf(runtime: Runtime, frozen_clock: datetime) -> None:
    async with runtime.databases.transaction(CONTROL) as session:
        entry = await audit.append(
            session,
            kind="refund",
            actor_id="usr_us_1",
            subject_id="ord_9",
            region="us",
            attributes={"z": [1, 2.5, None, True], "a": "ü€😀", "m": {"b": 1, "a": 2}},
        )
    expected = (
        '{"actor":"usr_us_1","attributes":{"a":"ü€😀","m":{"a":2,"b":1},"z":[1,2.5,null,true]},'
        '"kind":"refund","region":"us","seq":0,"subject":"ord_9",'
        '"time":"2026-11-26T09:00:00.123Z","v":1}'
    ).encode()
    assert entry.seq == 0
    assert entry.leaf_data == expected
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + expected).digest()
    async with runtime.databases.session(CONTROL) as session:
        stored = await session.get(AuditEntry, 0)
    assert stored is not None
    assert (stored.kind, stored.actor_id, stored.subject_id, stored.region) == (
        "refund",
        "usr_us_1",
        "ord_9",
        "us",
    )
    assert bytes(stored.leaf_data) == expected
    assert stored.attributes == json.loads(expected)["attributes"]


async def test_append_allocates_contiguous_seqs_and_nulls(runtime: Runtime) -> None:
    async with runtime.databases.transaction(CONTROL) as session:
        for index in range(5):
            entry = await audit.append(
                session,
                kind="privacy.request",
                actor_id=None,
                subject_id=None,
                region=None,
                attributes={},
            )
            assert entry.seq == index
            leaf = json.loads(entry.leaf_data)
            assert leaf["seq"] == index
            assert (leaf["actor"], leaf["subject"], leaf["region"]) == (None, None, None)
            assert leaf["v"] == 1
            assert leaf["time"].endswith("Z") and len(leaf["time"]) == 24
    async with runtime.databases.session(CONTROL) as session:
        assert await audit.log_size(session) == 5


@pytest.mark.parametrize("plane", [GLOBAL, regional("us")], ids=["global", "regional"])
async def test_append_refuses_other_planes(runtime: Runtime, plane: Any) -> None:
    async with runtime.databases.session(plane) as session:
        with pytest.raises(PlaneViolation, match="control plane"):
            await audit.append(
                session, kind="refund", actor_id=None, subject_id=None, region=None, attributes={}
            )
        with pytest.raises(PlaneViolation):
            await audit.log_size(session)
        with pytest.raises(PlaneViolation):
            await audit.verify_log(session, signer_for(runtime.settings).public_key)


class _Opaque:
    pass


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "Refund"}, "invalid audit kind"),
        ({"kind": "r"}, "invalid audit kind"),
        ({"kind": "1refund"}, "invalid audit kind"),
        ({"kind": "refund-issued"}, "invalid audit kind"),
        ({"kind": "a" * 49}, "invalid audit kind"),
        ({"attributes": {"x": float("nan")}}, "NaN"),
        ({"attributes": {"x": [1, float("inf")]}}, "attributes.x\\[1\\]"),
        ({"attributes": {"x": b"raw"}}, "bytes"),
        ({"attributes": {"x": {1: "one"}}}, "non-string key 1"),
        ({"attributes": {"x": {"a", "b"}}}, "set, which is not JSON"),
        ({"attributes": {"x": _Opaque()}}, "_Opaque"),
        ({"attributes": {"x": datetime(2026, 1, 1)}}, "datetime"),
        ({"attributes": {"x": "\udc80"}}, "lone surrogate"),
        ({"attributes": ["not", "a", "mapping"]}, "JSON object"),
        ({"attributes": {"x": "y" * 70_000}}, "limit is 65536"),
        ({"actor_id": "u" * 65}, "actor_id is longer than 64"),
        ({"region": "r" * 17}, "region is longer than 16"),
        ({"subject_id": 12}, "subject_id must be a string"),
    ],
)
async def test_append_validates(runtime: Runtime, fields: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "kind": "access.decision",
        "actor_id": "usr_us_1",
        "subject_id": None,
        "region": "us",
        "attributes": {},
    }
    arguments.update(fields)
    async with runtime.databases.transaction(CONTROL) as session:
        with pytest.raises(ValidationFailed, match=message):
            await audit.append(session, **arguments)
        assert await audit.log_size(session) == 0


def test_deeply_nested_attributes_are_refused() -> None:
    value: Any = "leaf"
    for _ in range(40):
        value = [value]
    with pytest.raises(ValidationFailed, match="nested"):
        audit.build_leaf_data(
            seq=0,
            kind="refund",
            actor_id=None,
            subject_id=None,
            region=None,
            time=datetime.now(UTC),
            attributes={"x": value},
        )


def test_accepted_kinds_and_time_format() -> None:
    for kind in ("access.decision", "policy.change", "model.deploy", "payout", "a1", "x_y.z"):
        audit.build_leaf_data(
            seq=0,
            kind=kind,
            actor_id=None,
            subject_id=None,
            region=None,
            time=datetime.now(UTC),
            attributes={},
        )
    moment = datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC)
    assert audit.format_time(moment) == "2026-01-02T03:04:05.999Z"
    paris = moment.astimezone(timezone(timedelta(hours=1)))
    assert audit.format_time(paris) == "2026-01-02T03:04:05.999Z"


async def _append_in_own_session(runtime: Runtime, index: int, rollback: bool = False) -> None:
    async with runtime.databases.session(CONTROL) as session:
        await audit.append(
            session,
            kind="access.decision",
            actor_id=f"usr_us_{index}",
            subject_id=None,
            region="us",
            attributes={"i": index},
        )
        await asyncio.sleep(0)  # let the others queue up on the lock
        if rollback:
            await session.rollback()
        else:
            await session.commit()


async def test_concurrent_appends_get_contiguous_unique_seqs(
    runtime: Runtime, signer: TreeHeadSigner
) -> None:
    await asyncio.gather(*(_append_in_own_session(runtime, i) for i in range(20)))
    async with runtime.databases.session(CONTROL) as session:
        rows = (await session.execute(select(AuditEntry.seq, AuditEntry.actor_id))).all()
    assert sorted(seq for seq, _ in rows) == list(range(20))
    assert sorted(str(actor) for _, actor in rows) == sorted(f"usr_us_{i}" for i in range(20))
    report = await verify(runtime, signer)
    assert report.ok, report.problems


async def test_rolled_back_appends_leave_no_gap(runtime: Runtime, signer: TreeHeadSigner) -> None:
    await asyncio.gather(
        *(_append_in_own_session(runtime, i, rollback=i % 3 == 0) for i in range(15))
    )
    async with runtime.databases.session(CONTROL) as session:
        seqs = list(await session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert seqs == list(range(10))
    assert (await verify(runtime, signer)).ok


# ---- tree heads ------------------------------------------------------------------------------


async def test_publish_signs_the_root_of_the_whole_log(
    runtime: Runtime, signer: TreeHeadSigner
) -> None:
    empty = await publish(runtime, signer)
    assert (empty.tree_size, empty.root_hash) == (0, merkle.EMPTY_ROOT)
    await append_entries(runtime, 13)
    head = await publish(runtime, signer)
    async with runtime.databases.session(CONTROL) as session:
        data = list(await session.scalars(select(AuditEntry.leaf_data).order_by(AuditEntry.seq)))
    assert head.tree_size == 13
    assert head.root_hash == merkle.root_from_leaf_hashes([merkle.leaf_hash(d) for d in data])
    assert head.key_id == signer.key_id == public_key_id(signer.public_key)
    assert merkle.verify_tree_head(signer.public_key, head.tree_head, head.signature)
    assert head.timestamp_ms >= empty.timestamp_ms
    again = await publish(runtime, signer)
    assert again == head  # nothing new: the latest tree head is returned
    await append_entries(runtime, 2)
    newer = await publish(runtime, signer)
    assert newer.tree_size == 15 and newer.timestamp_ms >= head.timestamp_ms
    async with runtime.databases.session(CONTROL) as session:
        sizes = [h.tree_size for h in await audit.list_tree_heads(session)]
        assert sizes == [15, 13, 0]
        assert [h.tree_size for h in await audit.list_tree_heads(session, before=13)] == [0]
        assert [h.tree_size for h in await audit.list_tree_heads(session, limit=1)] == [15]
        latest = await audit.latest_tree_head(session)
        assert latest is not None and latest.tree_size == 15
        assert await audit.tree_head_at(session, 14) is None
    report = await verify(runtime, signer)
    assert report.ok and report.tree_heads == 3 and report.verified_tree_size == 15


async def test_publish_timestamps_never_go_back(runtime: Runtime, signer: TreeHeadSigner) -> None:
    await append_entries(runtime, 1)
    first = await publish(runtime, signer)
    set_clock(lambda: datetime(2001, 1, 1, tzinfo=UTC))  # the clock jumps back
    try:
        await append_entries(runtime, 1)
        second = await publish(runtime, signer)
    finally:
        set_clock(None)
    assert second.timestamp_ms == first.timestamp_ms
    assert (await verify(runtime, signer)).ok


async def test_publish_refuses_a_foreign_signing_key(
    runtime: Runtime, signer: TreeHeadSigner
) -> None:
    await append_entries(runtime, 3)
    await publish(runtime, signer)
    await append_entries(runtime, 1)
    stranger = TreeHeadSigner.from_seed(b"\x07" * 32)
    async with runtime.databases.transaction(CONTROL) as session:
        with pytest.raises(audit.AuditLogCorrupted, match="key rotation"):
            await audit.publish_tree_head(session, stranger)


# ---- proofs ----------------------------------------------------------------------------------


async def test_inclusion_and_consistency_proofs_verify(
    runtime: Runtime, signer: TreeHeadSigner
) -> None:
    await append_entries(runtime, 37)
    async with runtime.databases.session(CONTROL) as session:
        hashes = await audit.leaf_hashes(session, 37)
        roots = {n: merkle.root_from_leaf_hashes(hashes[:n]) for n in range(38)}
        for tree_size in (1, 2, 5, 8, 16, 17, 31, 37):
            for seq in {0, tree_size // 2, tree_size - 1}:
                proof = await audit.inclusion_proof(session, seq, tree_size)
                assert proof.leaf_hash == hashes[seq]
                assert merkle.verify_inclusion(
                    proof.leaf_hash, seq, tree_size, proof.audit_path, roots[tree_size]
                )
        for first, second in ((0, 37), (1, 37), (7, 8), (8, 37), (13, 29), (37, 37)):
            proof_hashes = await audit.consistency_proof(session, first, second)
            assert merkle.verify_consistency(
                first, second, roots[first], roots[second], proof_hashes
            )
        with pytest.raises(ValidationFailed):
            await audit.inclusion_proof(session, 5, 5)
        with pytest.raises(ValidationFailed):
            await audit.consistency_proof(session, 6, 5)
        with pytest.raises(NotFound):
            await audit.inclusion_proof(session, 0, 38)
        with pytest.raises(NotFound):
            await audit.consistency_proof(session, 1, 40)


# ---- verification ----------------------------------------------------------------------------


async def test_verify_an_empty_log(runtime: Runtime, signer: TreeHeadSigner) -> None:
    report = await verify(runtime, signer)
    assert report.ok and report.entries == 0 and report.first_bad_seq is None
    assert report.root_hash == merkle.EMPTY_ROOT
    assert report.summary().startswith("audit log intact: 0 entries")


async def test_verify_an_intact_log_with_known_heads(
    runtime: Runtime, signer: TreeHeadSigner
) -> None:
    await append_entries(runtime, 20)
    heads = [await publish(runtime, signer)]
    await append_entries(runtime, 5)
    heads.append(await publish(runtime, signer))
    await append_entries(runtime, 3)
    report = await verify(runtime, signer, known=heads)
    assert report.ok, report.problems
    assert (report.entries, report.tree_heads, report.verified_tree_size) == (28, 2, 25)
    assert "3 newer entries not yet in a signed tree head" in report.summary()
    assert report.to_json()["root_hash"] == report.root_hash.hex()  # type: ignore[union-attr]


async def test_verify_rejects_a_known_head_signed_by_another_key(
    runtime: Runtime, signer: TreeHeadSigner
) -> None:
    await append_entries(runtime, 4)
    head = await publish(runtime, signer)
    stranger = TreeHeadSigner.from_seed(b"\x09" * 32)
    forged = SignedHead(
        head.tree_size,
        head.timestamp_ms,
        head.root_hash,
        stranger.sign(head.tree_head),
        stranger.key_id,
    )
    report = await verify(runtime, signer, known=[forged])
    assert not report.ok and report.first_bad_seq is None
    assert "does not verify" in report.problems[0]


def test_signed_head_json_round_trip() -> None:
    signer = TreeHeadSigner.from_seed(b"\x01" * 32)
    tree_head = merkle.TreeHead(5, 1_780_000_000_123, b"\xab" * 32)
    head = SignedHead(5, tree_head.timestamp_ms, tree_head.root_hash, signer.sign(tree_head), "k")
    data = head.to_json()
    assert data["root_hash"] == "ab" * 32 and data["timestamp"].endswith(".123Z")
    assert SignedHead.from_json(json.loads(json.dumps(data))) == head
    for broken in (
        {**data, "root_hash": "abcd"},
        {**data, "signature": "***"},
        {**data, "tree_size": "5"},
        {k: v for k, v in data.items() if k != "key_id"},
    ):
        with pytest.raises(ValueError, match="not a signed tree head"):
            SignedHead.from_json(broken)


@pytest.mark.slow
async def test_verify_100k_entries_takes_seconds(
    runtime: Runtime, signer: TreeHeadSigner, capsys: pytest.CaptureFixture[str]
) -> None:
    total, chunk = 100_000, 10_000
    moment = datetime(2026, 11, 26, tzinfo=UTC)
    started = time.perf_counter()
    engine = runtime.databases.engine(CONTROL)
    for start in range(0, total, chunk):
        rows = []
        for seq in range(start, start + chunk):
            attributes = attributes_for(seq)
            data = audit.build_leaf_data(
                seq=seq,
                kind="access.decision",
                actor_id=f"usr_us_{seq % 97}",
                subject_id=f"usr_intl_{seq}",
                region="intl",
                time=moment,
                attributes=attributes,
            )
            rows.append(
                {
                    "seq": seq,
                    "kind": "access.decision",
                    "actor_id": f"usr_us_{seq % 97}",
                    "subject_id": f"usr_intl_{seq}",
                    "region": "intl",
                    "leaf_data": data,
                    "leaf_hash": merkle.leaf_hash(data),
                    "attributes": attributes,
                    "created_at": moment,
                }
            )
        async with engine.begin() as conn:
            await conn.execute(insert(AuditEntry.metadata.tables["audit_entries"]), rows)
    inserted = time.perf_counter()
    await publish(runtime, signer)
    published = time.perf_counter()
    report = await verify(runtime, signer)
    verified = time.perf_counter()
    assert report.ok, report.problems
    assert report.entries == total and report.verified_tree_size == total
    with capsys.disabled():
        print(
            f"\n[audit 100k on {engine.dialect.name}] insert {inserted - started:.1f}s, "
            f"publish {published - inserted:.1f}s, verify {verified - published:.1f}s"
        )
    assert verified - published < 30


# ---- the append-only triggers survive the test cleanup ---------------------------------------


async def test_wipe_for_tests_keeps_the_triggers(runtime: Runtime, signer: TreeHeadSigner) -> None:
    await append_entries(runtime, 3)
    await publish(runtime, signer)
    engine = runtime.databases.engine(CONTROL)
    async with engine.begin() as conn:
        await audit.wipe_log_for_tests(conn)
    async with runtime.databases.session(CONTROL) as session:
        assert await audit.log_size(session) == 0
        assert await audit.latest_tree_head(session) is None
    await append_entries(runtime, 2)
    await publish(runtime, signer)
    async with engine.begin() as conn:
        with pytest.raises(IntegrityError, match="append-only"):
            await conn.execute(text("DELETE FROM audit_entries"))
    async with engine.begin() as conn:
        with pytest.raises(IntegrityError, match="append-only"):
            await conn.execute(text("UPDATE signed_tree_heads SET key_id = 'x'"))


# ---- the signing key -------------------------------------------------------------------------


@pytest.fixture
def key_dir(tmp_path: Path) -> Iterator[Path]:
    clear_signer_cache()
    yield tmp_path / "keys"
    clear_signer_cache()


@posix_only
def test_signing_key_is_created_private_and_reused(key_dir: Path) -> None:
    signer = load_signer(key_dir)
    path = signing_key_path(key_dir)
    assert path == key_dir / "control" / "audit-signing.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    seed = path.read_bytes()
    assert len(seed) == 32
    raw = public_key_bytes(signer.public_key)
    assert signer.public_key_raw == raw and len(raw) == 32
    assert signer.key_id == hashlib.sha256(raw).digest()[:16].hex()
    assert len(signer.key_id) == 32
    assert load_signer(key_dir) is signer
    clear_signer_cache()
    assert load_signer(key_dir).public_key_raw == raw  # the file, not a new key
    assert TreeHeadSigner.from_seed(seed).key_id == signer.key_id
    assert "private" not in repr(signer) and seed.hex() not in repr(signer)


@posix_only
def test_signing_key_with_loose_permissions_is_refused(key_dir: Path) -> None:
    load_signer(key_dir)
    clear_signer_cache()
    path = signing_key_path(key_dir)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_signer(key_dir)
    path.chmod(0o600)
    path.parent.chmod(0o777)
    with pytest.raises(KeyFileError, match="chmod 700"):
        load_signer(key_dir)
    path.parent.chmod(0o700)


@posix_only
def test_signing_key_of_the_wrong_length_is_refused(key_dir: Path) -> None:
    path = signing_key_path(key_dir)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_bytes(b"\x01" * 31)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="exactly 32"):
        load_signer(key_dir)


def test_signer_signs_tree_heads_verifiably() -> None:
    signer = TreeHeadSigner.from_seed(b"\x05" * 32)
    head = merkle.TreeHead(3, 42, b"\x11" * 32)
    signature = signer.sign(head)
    assert len(signature) == 64 and signer.verify(head, signature)
    assert not signer.verify(merkle.TreeHead(4, 42, b"\x11" * 32), signature)
    with pytest.raises(ValueError):
        TreeHeadSigner.from_seed(b"short")


async def test_publisher_signs_only_when_the_log_grew(runtime: Runtime) -> None:
    from shopreel.sovereignty.publisher import publish_if_grown

    assert await publish_if_grown(runtime) is None  # empty log: nothing to sign
    await append_entries(runtime, 3)
    assert await publish_if_grown(runtime) == 3
    assert await publish_if_grown(runtime) is None  # unchanged
    await append_entries(runtime, 2)
    assert await publish_if_grown(runtime) == 5
    report = await verify(runtime, signer_for(runtime.settings))
    assert report.ok and report.tree_heads == 2
