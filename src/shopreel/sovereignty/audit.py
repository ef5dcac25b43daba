"""The append-only, tamper-evident audit log (control plane).

Every audit record is one leaf of an RFC 6962 Merkle tree (:mod:`.merkle`). A leaf is the
canonical JSON (``sort_keys``, separators ``(",", ":")``, ``ensure_ascii=False``, UTF-8) of::

    {"v": 1, "seq": 17, "kind": "refund", "actor": "usr_us_1", "subject": "ord_9",
     "region": "us", "time": "2026-11-26T09:00:00.123Z", "attributes": {...}}

stored byte for byte in ``audit_entries.leaf_data``; ``leaf_hash = SHA-256(0x00 || leaf_data)``.
The other columns (``kind``, ``actor_id``, ``subject_id``, ``region``, ``attributes``) are
copies for browsing; :func:`verify_log` checks that they still agree with the leaf.

``seq`` is contiguous from 0. :func:`append` serialises writers: on PostgreSQL it takes a
transaction-scoped advisory lock before reading ``max(seq)``; on SQLite it first executes a
write that matches no row, which takes the database's single write lock, so the read of
``max(seq)`` already happens under that lock. Either lock is held until the caller's
transaction ends, so append late in a unit of work (``UnitOfWork`` commits control last).

:func:`publish_tree_head` signs the root of the whole log (an STH) after checking that the
log still reproduces the previous STH: the service never signs a rewritten history. The
database refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) on both tables (migration
``c0002``); :func:`verify_log` detects what an attacker who drops those triggers does.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shopreel.errors import NotFound, ShopReelError, ValidationFailed
from shopreel.kit.time import utcnow
from shopreel.planes import CONTROL, PlaneViolation, plane_of_session
from shopreel.sovereignty import merkle
from shopreel.sovereignty.models import AuditEntry, SignedTreeHead
from shopreel.sovereignty.signing import TreeHeadSigner, public_key_id

__all__ = [
    "AUDIT_TABLES",
    "LEAF_VERSION",
    "MAX_LEAF_BYTES",
    "AuditLogCorrupted",
    "InclusionProof",
    "JSONValue",
    "SignedHead",
    "VerificationReport",
    "append",
    "build_leaf_data",
    "canonical_json",
    "consistency_proof",
    "format_time",
    "get_entry",
    "inclusion_proof",
    "latest_tree_head",
    "leaf_hashes",
    "list_tree_heads",
    "log_size",
    "publish_tree_head",
    "tree_head_at",
    "verify_log",
    "wipe_log_for_tests",
]

JSONValue: TypeAlias = (
    bool | int | float | str | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)

LEAF_VERSION: Final = 1
MAX_LEAF_BYTES: Final = 64 * 1024
_MAX_DEPTH: Final = 32
_KIND_RE: Final = re.compile(r"[a-z][a-z0-9_.]{1,47}")
_ID_LIMITS: Final = {"actor_id": 64, "subject_id": 64, "region": 16}
AUDIT_TABLES: Final = ("audit_entries", "signed_tree_heads")
# pg_advisory_xact_lock key of the audit log: b"SRAUDIT\x01" as a signed 64-bit integer.
_PG_LOCK_KEY: Final = int.from_bytes(b"SRAUDIT\x01", "big", signed=True)
# Matches no row (so the append-only trigger never fires) but takes SQLite's write lock.
_SQLITE_WRITE_LOCK: Final = "UPDATE audit_entries SET seq = seq WHERE 1 = 0"
_STREAM_CHUNK: Final = 10_000
_MAX_PROBLEMS: Final = 100


class AuditLogCorrupted(ShopReelError):
    """The stored log no longer reproduces itself or its signed tree heads."""

    status = 500
    code = "audit_log_corrupted"
    title = "Audit log corrupted"


# ---- leaves ----------------------------------------------------------------------------------


def canonical_json(value: object) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, no NaN/Infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def format_time(moment: datetime) -> str:
    """ISO-8601 UTC with millisecond precision, e.g. ``2026-11-26T09:00:00.123Z``."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class _NotJSON(Exception):
    """Raised deep in :func:`_check_json`; each level adds its key to ``path`` on the way up."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []


def _check_json(value: object, depth: int = 0) -> None:
    """Raise :class:`_NotJSON` unless ``value`` is plain JSON (no path strings on success)."""
    if depth > _MAX_DEPTH:
        raise _NotJSON(f"is nested more than {_MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):
        if not value.isascii():
            _check_unicode(value)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJSON(f"is {value!r}; JSON has no NaN or Infinity")
        return
    if isinstance(value, bytes | bytearray | memoryview):
        raise _NotJSON("is bytes; encode binary data (e.g. base64) first")
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            try:
                _check_json(item, depth + 1)
            except _NotJSON as exc:
                exc.path.append(f"[{index}]")
                raise
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJSON(f"has the non-string key {key!r}; JSON object keys are strings")
            try:
                if not key.isascii():
                    _check_unicode(key)
                _check_json(item, depth + 1)
            except _NotJSON as exc:
                exc.path.append(f".{key}")
                raise
        return
    raise _NotJSON(f"is a {type(value).__name__}, which is not JSON")


def _check_unicode(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _NotJSON("is not valid Unicode text (lone surrogate)") from None


def _check_text(value: str, what: str) -> None:
    try:
        _check_unicode(value)
    except _NotJSON as exc:
        raise ValidationFailed(f"{what} {exc.reason}") from None


def _check_fields(
    kind: str, actor_id: str | None, subject_id: str | None, region: str | None
) -> None:
    if not isinstance(kind, str) or _KIND_RE.fullmatch(kind) is None:
        raise ValidationFailed(f"invalid audit kind {kind!r}: expected ^[a-z][a-z0-9_.]{{1,47}}$")
    for name, value in (("actor_id", actor_id), ("subject_id", subject_id), ("region", region)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValidationFailed(f"{name} must be a string or None")
        if len(value) > _ID_LIMITS[name]:
            raise ValidationFailed(f"{name} is longer than {_ID_LIMITS[name]} characters")
        _check_text(value, name)


def build_leaf_data(
    *,
    seq: int,
    kind: str,
    actor_id: str | None,
    subject_id: str | None,
    region: str | None,
    time: datetime,
    attributes: Mapping[str, JSONValue],
) -> bytes:
    """The exact bytes that become leaf ``seq`` (validated; raises ValidationFailed)."""
    _validate(kind, actor_id, subject_id, region, attributes)
    return _encode_leaf(seq, kind, actor_id, subject_id, region, time, attributes)


def _validate(
    kind: str,
    actor_id: str | None,
    subject_id: str | None,
    region: str | None,
    attributes: Mapping[str, JSONValue],
) -> None:
    _check_fields(kind, actor_id, subject_id, region)
    if not isinstance(attributes, Mapping):
        raise ValidationFailed("attributes must be a JSON object (a mapping)")
    try:
        _check_json(attributes)
    except _NotJSON as exc:
        where = "attributes" + "".join(reversed(exc.path))
        raise ValidationFailed(f"{where} {exc.reason}") from None


def _encode_leaf(
    seq: int,
    kind: str,
    actor_id: str | None,
    subject_id: str | None,
    region: str | None,
    time: datetime,
    attributes: Mapping[str, JSONValue],
) -> bytes:
    data = canonical_json(
        {
            "v": LEAF_VERSION,
            "seq": seq,
            "kind": kind,
            "actor": actor_id,
            "subject": subject_id,
            "region": region,
            "time": format_time(time),
            "attributes": attributes,
        }
    )
    if len(data) > MAX_LEAF_BYTES:
        raise ValidationFailed(
            f"audit entry is {len(data)} bytes as canonical JSON; the limit is {MAX_LEAF_BYTES}"
        )
    return data


def _require_control(session: AsyncSession) -> None:
    plane = plane_of_session(session)
    if plane != CONTROL:
        raise PlaneViolation(
            f"the audit log lives in the control plane; refusing the {plane.name} session"
        )


async def _lock_log(session: AsyncSession) -> None:
    """Serialise writers of the log until the session's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    else:
        await session.execute(text(_SQLITE_WRITE_LOCK))


async def append(
    session: AsyncSession,
    *,
    kind: str,
    actor_id: str | None,
    subject_id: str | None,
    region: str | None,
    attributes: Mapping[str, JSONValue],
) -> AuditEntry:
    """Append one record; returns the flushed row (committed with the caller's transaction).

    ``kind`` matches ``^[a-z][a-z0-9_.]{1,47}$`` (e.g. ``access.decision``, ``refund``);
    ``attributes`` must be JSON (no NaN, bytes or non-string keys): ValidationFailed
    otherwise. Raises PlaneViolation unless ``session`` is a control-plane session.
    """
    _require_control(session)
    _validate(kind, actor_id, subject_id, region, attributes)
    await _lock_log(session)
    last = await session.scalar(select(func.max(AuditEntry.seq)))
    seq = 0 if last is None else int(last) + 1
    moment = utcnow()
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    data = _encode_leaf(seq, kind, actor_id, subject_id, region, moment, attributes)
    entry = AuditEntry(
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        subject_id=subject_id,
        region=region,
        leaf_data=data,
        leaf_hash=merkle.leaf_hash(data),
        attributes=json.loads(data)["attributes"],  # exactly what was hashed
        created_at=moment,
    )
    session.add(entry)
    await session.flush()
    return entry


# ---- tree heads and proofs -------------------------------------------------------------------


@dataclass(frozen=True)
class SignedHead:
    """A signed tree head as published (API JSON) or as an outside party remembers it."""

    tree_size: int
    timestamp_ms: int
    root_hash: bytes
    signature: bytes
    key_id: str

    @classmethod
    def from_row(cls, row: SignedTreeHead) -> SignedHead:
        return cls(
            row.tree_size, row.timestamp_ms, bytes(row.root_hash), bytes(row.signature), row.key_id
        )

    @property
    def tree_head(self) -> merkle.TreeHead:
        return merkle.TreeHead(self.tree_size, self.timestamp_ms, self.root_hash)

    def to_json(self) -> dict[str, Any]:
        """Hashes in hex, the signature in base64 (the transparency API's format)."""
        return {
            "tree_size": self.tree_size,
            "timestamp_ms": self.timestamp_ms,
            "timestamp": format_time(datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)),
            "root_hash": self.root_hash.hex(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "key_id": self.key_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignedHead:
        """Parse :meth:`to_json` output; raise ValueError if malformed."""
        try:
            tree_size, timestamp_ms = data["tree_size"], data["timestamp_ms"]
            if not isinstance(tree_size, int) or not isinstance(timestamp_ms, int):
                raise ValueError("tree_size and timestamp_ms must be integers")
            head = cls(
                tree_size=tree_size,
                timestamp_ms=timestamp_ms,
                root_hash=bytes.fromhex(data["root_hash"]),
                signature=base64.b64decode(data["signature"], validate=True),
                key_id=str(data["key_id"]),
            )
            merkle.TreeHead(head.tree_size, head.timestamp_ms, head.root_hash)  # validates
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a signed tree head: {exc}") from None
        return head


async def latest_tree_head(session: AsyncSession) -> SignedTreeHead | None:
    _require_control(session)
    result = await session.scalars(
        select(SignedTreeHead).order_by(SignedTreeHead.tree_size.desc()).limit(1)
    )
    return result.first()


async def tree_head_at(session: AsyncSession, tree_size: int) -> SignedTreeHead | None:
    _require_control(session)
    return await session.get(SignedTreeHead, tree_size)


async def list_tree_heads(
    session: AsyncSession, *, limit: int = 100, before: int | None = None
) -> list[SignedTreeHead]:
    """Signed tree heads, largest first; ``before`` (exclusive) pages back in time."""
    _require_control(session)
    query = select(SignedTreeHead).order_by(SignedTreeHead.tree_size.desc()).limit(limit)
    if before is not None:
        query = query.where(SignedTreeHead.tree_size < before)
    return list(await session.scalars(query))


async def log_size(session: AsyncSession) -> int:
    """Number of entries (``max(seq) + 1``)."""
    _require_control(session)
    last = await session.scalar(select(func.max(AuditEntry.seq)))
    return 0 if last is None else int(last) + 1


async def leaf_hash_range(session: AsyncSession, start: int, limit: int) -> list[bytes]:
    """Stored leaf hashes of seqs ``start`` .. ``start + limit - 1`` (fewer at the end)."""
    result = await session.execute(
        select(AuditEntry.leaf_hash)
        .where(AuditEntry.seq >= start, AuditEntry.seq < start + limit)
        .order_by(AuditEntry.seq)
    )
    return [bytes(h) for h in result.scalars()]


async def get_entry(session: AsyncSession, seq: int) -> AuditEntry | None:
    _require_control(session)
    return await session.get(AuditEntry, seq)


def _as_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return None


async def publish_tree_head(session: AsyncSession, signer: TreeHeadSigner) -> SignedTreeHead:
    """Sign and store the tree head of the whole log (flushed, not committed).

    Streams every leaf in seq order, checks that seqs are contiguous, that each stored
    ``leaf_hash`` matches its ``leaf_data`` and that the log still reproduces the latest
    stored tree head; raises :class:`AuditLogCorrupted` otherwise (nothing is signed). If the
    latest tree head already covers the whole log, it is returned unchanged.
    """
    _require_control(session)
    await _lock_log(session)
    latest = await latest_tree_head(session)
    if latest is not None and latest.key_id != signer.key_id:
        raise AuditLogCorrupted(
            f"the latest tree head was signed by key {latest.key_id}, but this deployment's "
            f"signing key is {signer.key_id}; refusing to sign (key rotation is not supported)"
        )
    if latest is not None and not signer.verify(
        SignedHead.from_row(latest).tree_head, latest.signature
    ):
        raise AuditLogCorrupted(
            f"the stored tree head of size {latest.tree_size} has an invalid signature"
        )
    accumulator = merkle.MerkleAccumulator()
    if latest is not None and latest.tree_size == 0:
        _check_prefix(latest, accumulator)
    stream = await session.stream(
        text("SELECT seq, leaf_data, leaf_hash FROM audit_entries ORDER BY seq")
    )
    async for chunk in stream.partitions(_STREAM_CHUNK):
        for seq, raw_data, raw_hash in chunk:
            data, stored = _as_bytes(raw_data), _as_bytes(raw_hash)
            if seq != accumulator.size:
                raise AuditLogCorrupted(
                    f"audit log seqs are not contiguous at {accumulator.size} (found {seq})"
                )
            if data is None or stored is None or merkle.leaf_hash(data) != stored:
                raise AuditLogCorrupted(f"audit entry {seq}: leaf_hash does not match leaf_data")
            accumulator.append(stored)
            if latest is not None and accumulator.size == latest.tree_size:
                _check_prefix(latest, accumulator)
    size = accumulator.size
    if latest is not None:
        if latest.tree_size > size:
            raise AuditLogCorrupted(
                f"the latest tree head covers {latest.tree_size} entries but the log has {size}"
            )
        if latest.tree_size == size:
            return latest
    now_ms = int(utcnow().timestamp() * 1000)
    timestamp_ms = max(now_ms, latest.timestamp_ms if latest is not None else 0)
    head = merkle.TreeHead(size, timestamp_ms, accumulator.root())
    row = SignedTreeHead(
        tree_size=size,
        timestamp_ms=timestamp_ms,
        root_hash=head.root_hash,
        signature=signer.sign(head),
        key_id=signer.key_id,
    )
    session.add(row)
    await session.flush()
    return row


def _check_prefix(latest: SignedTreeHead, accumulator: merkle.MerkleAccumulator) -> None:
    if accumulator.root() != bytes(latest.root_hash):
        raise AuditLogCorrupted(
            f"the first {latest.tree_size} entries no longer match the signed tree head of "
            "that size; refusing to sign a rewritten history"
        )


async def leaf_hashes(session: AsyncSession, tree_size: int) -> list[bytes]:
    """Stored leaf hashes of seqs ``0..tree_size-1``, in order (NotFound past the log)."""
    _require_control(session)
    if tree_size < 0:
        raise ValidationFailed("tree_size must not be negative")
    result = await session.execute(
        text("SELECT seq, leaf_hash FROM audit_entries WHERE seq < :n ORDER BY seq"),
        {"n": tree_size},
    )
    hashes: list[bytes] = []
    for seq, raw in result:
        value = _as_bytes(raw)
        if seq != len(hashes) or value is None or len(value) != merkle.HASH_SIZE:
            raise AuditLogCorrupted(f"audit entry {len(hashes)} is missing or malformed")
        hashes.append(value)
    if len(hashes) < tree_size:
        raise NotFound(f"the audit log has {len(hashes)} entries, fewer than {tree_size}")
    return hashes


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]


async def inclusion_proof(session: AsyncSession, seq: int, tree_size: int) -> InclusionProof:
    """Audit path of entry ``seq`` in the tree of the first ``tree_size`` entries."""
    if not 0 <= seq < tree_size:
        raise ValidationFailed(f"seq must be in [0, tree_size) = [0, {tree_size})")
    hashes = await leaf_hashes(session, tree_size)
    return InclusionProof(seq, tree_size, hashes[seq], merkle.inclusion_proof(seq, hashes))


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[bytes]:
    """RFC 6962 consistency proof from the tree of size ``first`` to that of ``second``."""
    if not 0 <= first <= second:
        raise ValidationFailed("expected 0 <= first <= second")
    hashes = await leaf_hashes(session, second)
    return merkle.consistency_proof(first, hashes)


# ---- verification ----------------------------------------------------------------------------


@dataclass
class VerificationReport:
    """Outcome of :func:`verify_log`.

    ``first_bad_seq`` is the first entry a check fails on. When the only evidence is a
    tree-head root that no longer matches (an entry rewritten together with its hash), it is
    the first seq not covered by the previous matching tree head: the earliest entry that
    can have been changed. It is ``None`` if no entry is implicated (e.g. a forged tree head).
    """

    ok: bool
    entries: int
    tree_heads: int
    first_bad_seq: int | None
    problems: list[str] = field(default_factory=list)
    root_hash: bytes | None = None
    verified_tree_size: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["root_hash"] = self.root_hash.hex() if self.root_hash is not None else None
        return data

    def summary(self) -> str:
        """One line: the verdict, naming the first tampered seq if any."""
        if self.ok:
            pending = self.entries - self.verified_tree_size
            tail = f"; {pending} newer entries not yet in a signed tree head" if pending else ""
            return (
                f"audit log intact: {self.entries} entries, {self.tree_heads} signed tree "
                f"heads, latest signed size {self.verified_tree_size}{tail}"
            )
        where = (
            f"first tampered seq {self.first_bad_seq}"
            if self.first_bad_seq is not None
            else "no entry implicated"
        )
        more = f" (+{len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        return f"audit log TAMPERED: {where}: {self.problems[0]}{more}"


class _Findings:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.dropped = 0
        self.bad_seqs: list[int] = []
        self.ranges: list[tuple[int, int]] = []

    def add(self, message: str, seq: int | None = None) -> None:
        if seq is not None:
            self.bad_seqs.append(seq)
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(message)
        else:
            self.dropped += 1

    def root_mismatch(self, start: int, end: int, message: str) -> None:
        self.ranges.append((start, end))
        self.add(message)

    def first_bad_seq(self) -> int | None:
        exact = sorted(self.bad_seqs)
        candidates = exact[:1]
        for start, end in self.ranges:
            index = bisect.bisect_left(exact, start)
            if index == len(exact) or exact[index] >= end:  # nothing else explains it
                candidates.append(start)
        return min(candidates) if candidates else None

    def messages(self) -> list[str]:
        if self.dropped:
            return [*self.problems, f"... and {self.dropped} more problems"]
        return list(self.problems)


@dataclass
class _Checkpoint:
    label: str
    root: bytes


async def _load_heads(
    session: AsyncSession, public_key: Ed25519PublicKey, findings: _Findings
) -> tuple[int, list[SignedHead]]:
    """Stored STH rows (count, and the ones whose signature verifies), checking each."""
    result = await session.execute(
        text(
            "SELECT tree_size, timestamp_ms, root_hash, signature, key_id "
            "FROM signed_tree_heads ORDER BY tree_size"
        )
    )
    rows = result.all()
    key_id = public_key_id(public_key)
    valid: list[SignedHead] = []
    for tree_size, timestamp_ms, raw_root, raw_signature, head_key_id in rows:
        root, signature = _as_bytes(raw_root), _as_bytes(raw_signature)
        try:
            head = SignedHead(int(tree_size), int(timestamp_ms), root or b"", signature or b"", "")
            tree_head = head.tree_head
        except (TypeError, ValueError):
            findings.add(f"signed tree head of size {tree_size!r} is malformed")
            continue
        if head_key_id != key_id:
            findings.add(
                f"signed tree head of size {tree_size} names key {head_key_id!r}, "
                f"not the verifying key {key_id}"
            )
        if not merkle.verify_tree_head(public_key, tree_head, head.signature):
            findings.add(
                f"signed tree head of size {tree_size}: the signature does not verify "
                "(forged or altered tree head)"
            )
            continue
        if valid and head.timestamp_ms < valid[-1].timestamp_ms:
            findings.add(
                f"signed tree head of size {tree_size} is older than the one of size "
                f"{valid[-1].tree_size}"
            )
        valid.append(head)
    return len(rows), valid


async def verify_log(
    session: AsyncSession,
    public_key: Ed25519PublicKey,
    *,
    known_heads: Sequence[SignedHead] = (),
) -> VerificationReport:
    """Recompute the whole log and every signed tree head; report the first tampered seq.

    Checks (1) seqs are exactly ``0..n-1``, (2) each ``leaf_hash == leaf_hash(leaf_data)``
    and ``leaf_data``'s own ``seq`` is the row's, (3) every stored tree head's signature
    verifies and its root is the recomputed root of the first ``tree_size`` entries, (4)
    tree heads never exceed the log (truncation) and their timestamps never go back, and
    (5) the browse columns agree with ``leaf_data``.

    ``known_heads`` are tree heads obtained earlier from outside the database (the
    transparency API, a monitor, a witness file). They catch what no local check can: a
    truncation or rewrite whose tree heads were deleted from the database as well.
    Streams rows; 100,000 entries take a few seconds.
    """
    _require_control(session)
    findings = _Findings()
    stored_count, stored = await _load_heads(session, public_key, findings)
    checkpoints: dict[int, list[_Checkpoint]] = {}
    for head in stored:
        checkpoints.setdefault(head.tree_size, []).append(
            _Checkpoint(f"signed tree head of size {head.tree_size}", head.root_hash)
        )
    stored_roots = {(h.tree_size, h.root_hash) for h in stored}
    stored_sizes = {h.tree_size for h in stored}
    for head in known_heads:
        if not merkle.verify_tree_head(public_key, head.tree_head, head.signature):
            findings.add(
                f"known tree head of size {head.tree_size} does not verify with this public key"
            )
            continue
        if (head.tree_size, head.root_hash) in stored_roots:
            continue
        if head.tree_size in stored_sizes:
            findings.add(
                f"two different signed tree heads of size {head.tree_size} exist: the log "
                "was forked (history rewritten and signed again)"
            )
        else:
            findings.add(
                f"published tree head of size {head.tree_size} is missing from the database"
            )
        checkpoints.setdefault(head.tree_size, []).append(
            _Checkpoint(f"published tree head of size {head.tree_size}", head.root_hash)
        )

    accumulator = merkle.MerkleAccumulator()
    last_good = 0
    contiguous = True

    def reach(size: int) -> None:
        nonlocal last_good
        root = accumulator.root()
        matched = True
        for checkpoint in checkpoints.get(size, ()):
            if checkpoint.root != root:
                matched = False
                findings.root_mismatch(
                    last_good,
                    size,
                    f"the first {size} entries no longer match the {checkpoint.label}: an "
                    f"entry in seq {last_good}..{size - 1} was rewritten",
                )
        if matched:
            last_good = size

    if 0 in checkpoints:
        reach(0)
    expected = 0
    stream = await session.stream(
        text(
            "SELECT seq, kind, actor_id, subject_id, region, leaf_data, leaf_hash, "
            "CAST(attributes AS TEXT) FROM audit_entries ORDER BY seq"
        )
    )
    leaf_hash = merkle.leaf_hash
    async for chunk in stream.partitions(_STREAM_CHUNK):
        for seq, kind, actor_id, subject_id, region, raw_data, raw_hash, attrs in chunk:
            if seq != expected:
                contiguous = False
                if isinstance(seq, int) and seq > expected:
                    missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
                    findings.add(f"seq {missing} missing: entries were deleted", expected)
                else:
                    findings.add(f"seq {seq!r} out of order or duplicated: entries reordered", seq)
                expected = seq if isinstance(seq, int) else expected
            data = _as_bytes(raw_data)
            stored_hash = _as_bytes(raw_hash)
            if data is None:
                findings.add(f"seq {seq}: leaf_data is not binary", seq)
                data = b""
            computed = leaf_hash(data)
            if stored_hash != computed:
                findings.add(f"seq {seq}: leaf_hash does not match leaf_data", seq)
            _check_leaf(seq, data, (kind, actor_id, subject_id, region, attrs), findings)
            accumulator.append(computed)
            expected += 1
            if accumulator.size in checkpoints:
                reach(accumulator.size)

    entries = accumulator.size
    for size in sorted(checkpoints):
        if size > entries:
            if contiguous:
                findings.add(
                    f"tree head of size {size} but the log has {entries} entries: entries "
                    f"from seq {entries} were deleted (truncation)",
                    entries,
                )
            else:
                findings.root_mismatch(
                    last_good, size, f"tree head of size {size} cannot be reproduced"
                )
    verified = max((s for s in checkpoints if s <= entries), default=0)
    problems = findings.messages()
    return VerificationReport(
        ok=not problems,
        entries=entries,
        tree_heads=stored_count,
        first_bad_seq=findings.first_bad_seq(),
        problems=problems,
        root_hash=accumulator.root(),
        verified_tree_size=verified if not problems else last_good,
    )


_BROWSE: Final = (
    ("kind", "kind"),
    ("actor_id", "actor"),
    ("subject_id", "subject"),
    ("region", "region"),
)


def _check_leaf(seq: int, data: bytes, columns: tuple[object, ...], findings: _Findings) -> None:
    try:
        leaf = json.loads(data)
    except ValueError:
        findings.add(f"seq {seq}: leaf_data is not valid JSON", seq)
        return
    if not isinstance(leaf, dict):
        findings.add(f"seq {seq}: leaf_data is not a JSON object", seq)
        return
    if leaf.get("v") != LEAF_VERSION:
        findings.add(f"seq {seq}: leaf_data has unknown version {leaf.get('v')!r}", seq)
    leaf_seq = leaf.get("seq")
    if type(leaf_seq) is not int or leaf_seq != seq:
        findings.add(
            f"seq {seq}: leaf_data says seq {leaf_seq!r}: entries were reordered or renumbered",
            seq,
        )
    *browse, attrs = columns
    for value, (column, key) in zip(browse, _BROWSE, strict=True):
        if value != leaf.get(key):
            findings.add(f"seq {seq}: column {column} does not match leaf_data", seq)
    try:
        attributes = json.loads(attrs) if isinstance(attrs, str | bytes) else None
    except ValueError:
        attributes = None
    if attributes is None or attributes != leaf.get("attributes"):
        findings.add(f"seq {seq}: column attributes does not match leaf_data", seq)


# ---- tests only ------------------------------------------------------------------------------


async def wipe_log_for_tests(conn: AsyncConnection) -> None:
    """Delete every audit entry and tree head, bypassing the append-only triggers.

    For test suites and throwaway demo databases only; the triggers are back when the
    transaction commits. (Anyone with DDL rights can do the same: that is why tree heads are
    signed and published.)
    """
    if conn.dialect.name == "postgresql":
        for table in AUDIT_TABLES:
            await conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        await conn.execute(text(f"TRUNCATE {', '.join(AUDIT_TABLES)}"))
        for table in AUDIT_TABLES:
            await conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        return
    # The no-op write opens the transaction, so the DDL below commits or rolls back with it.
    await conn.execute(text(_SQLITE_WRITE_LOCK))
    triggers = (
        await conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('audit_entries', 'signed_tree_heads') ORDER BY name"
            )
        )
    ).all()
    for name, _sql in triggers:
        await conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    for table in AUDIT_TABLES:
        await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constant names
    for _name, sql in triggers:
        await conn.exec_driver_sql(sql)
