"""The regional transparency report, computed **only** from the audit log.

The report counts what the tamper-evident log says happened to one region's data in a time
window: staff access decisions (by the requester's jurisdiction, by action and purpose),
break-glass and bulk-access tickets, privacy requests, governance changes applied, and
takedowns. It reads nothing but audit leaves — the exact bytes that were hashed
(``audit_entries.leaf_data``) — so anyone holding the log (or the public transparency API's
entries) can recompute every number, and the report names the range of seqs it covers.

* :class:`ReportBuilder` / :func:`compute_report` — pure: decoded leaves in, a
  :class:`TransparencyReport` out. Leaves outside the region or the window are ignored, as
  are leaves that are not well-formed (they are counted in ``skipped``).
* :func:`suppress` — pure: the same report with :func:`~shopreel.sovereignty.anonymity.
  suppress_small_cells` applied to every table (k >= 10), for viewers who may not see small
  counts of this region.
* :func:`regional_report` — streams the region's leaves from a control-plane session into a
  builder (the only I/O here).
* :func:`viewer_sees_raw` — who sees small counts: trust officers of the report's region.

What a leaf counts as (``region`` is the leaf's region; global governance leaves have none):

=================================  =========================================================
leaf kind                          counted as
=================================  =========================================================
``access.decision``                one decision; ``allowed`` must be exactly ``true`` to count
                                   as allowed (anything else is denied, as in the access
                                   log); ``break_glass_read`` decisions also count as
                                   break-glass reads
``access.break_glass``             ``event`` requested / approved (an approval; it completes
                                   the grant when the leaf's ``status`` is approved) /
                                   approval_refused
``access.ticket``                  ``event`` requested / approved / approval_refused
``privacy.export``                 one export request (its ``law``)
``privacy.erasure``                one deletion request (its ``law``)
``policy.change``, ``model.deploy``  ``action`` apply: a change applied in the region's scope
                                   (leaf region = the region) or the global scope (no region);
                                   ``model.deploy`` genesis: the packaged policy set
                                   trusted at installation; revoke: an artifact revoked
``catalog.takedown``               one takedown (none are logged yet)
=================================  =========================================================
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.principal import Principal
from shopreel.config import Settings
from shopreel.kit.time import as_utc
from shopreel.sovereignty.anonymity import MIN_K, suppress_small_cells
from shopreel.sovereignty.audit import format_time
from shopreel.sovereignty.models import AuditEntry

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "REPORT_FORMAT",
    "TAKEDOWN_KINDS",
    "CountTable",
    "ReportBuilder",
    "TransparencyReport",
    "compute_report",
    "regional_report",
    "suppress",
    "viewer_sees_raw",
]

REPORT_FORMAT: Final = "shopreel-transparency-report/1"
DEFAULT_DAYS: Final = 90
MAX_DAYS: Final = 730
TRUST_OFFICER: Final = "trust_officer"
TAKEDOWN_KINDS: Final = frozenset({"catalog.takedown"})
"""Audit kinds counted as takedowns. None are written yet; the catalog issue logs them."""

OUTCOMES: Final = ("allowed", "denied")
LAWS: Final = ("ccpa", "gdpr")
SCOPES: Final = ("region", "global")
COUNT: Final = ("count",)
OTHER: Final = "other (suppressed)"
UNKNOWN: Final = "unknown"
NO_PURPOSE: Final = "(none)"

BREAK_GLASS_ROWS: Final = (
    "requested",
    "approvals",
    "grants completed",
    "approvals refused",
    "reads allowed",
    "reads denied",
)
TICKET_ROWS: Final = ("requested", "approved", "approvals refused")
PRIVACY_ROWS: Final = ("export", "delete")
GOVERNANCE_ROWS: Final = (
    "policy changes applied",
    "deployments allowlisted",
    "allowlisted at genesis",
    "deployments revoked",
)

_STREAM_CHUNK: Final = 2_000

NOTES: Final = {
    "privacy_requests": (
        "Counted from privacy.export and privacy.erasure entries: one per completed export "
        "or deletion. Requests of kind 'access' are not written to the audit log yet, so "
        "they are not counted here."
    ),
    "takedowns": "Takedowns are logged from the catalog issue on; none exist yet.",
    "governance": (
        "Global changes apply to every region that has not set its own value; they are "
        "counted in every region's report."
    ),
}


# ---- tables ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountTable:
    """Counts by row (one or more labelled dimensions) and column.

    ``rows`` holds every row with one count per column (zeros included, so that a suppressed
    report hides an empty cell like any other small one). ``None`` is a suppressed count.
    ``total`` is the sum of every cell (``None`` when suppressed)."""

    key: str
    title: str
    row_dims: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[tuple[str, ...], tuple[int | None, ...]], ...]
    total: int | None
    dynamic_rows: bool = False
    """Row labels come from the data (jurisdictions, purposes), not a fixed list: a
    suppressed report folds rows whose every cell is hidden into one "other" row, so the
    labels of small groups are not shown either."""
    note: str | None = None

    def cell(self, row: Sequence[str], column: str) -> int | None:
        """The count of ``row`` and ``column`` (0 for a row that is not in the table)."""
        index = self.columns.index(column)
        for key, counts in self.rows:
            if key == tuple(row):
                return counts[index]
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "row_dimensions": list(self.row_dims),
            "columns": list(self.columns),
            "rows": [
                {
                    "key": dict(zip(self.row_dims, key, strict=True)),
                    "counts": dict(zip(self.columns, counts, strict=True)),
                }
                for key, counts in self.rows
            ],
            "total": self.total,
            "note": self.note,
        }


def _table(
    key: str,
    title: str,
    row_dims: tuple[str, ...],
    columns: tuple[str, ...],
    counts: Counter[tuple[str, ...]],
    *,
    fixed_rows: Sequence[tuple[str, ...]] | None = None,
    note: str | None = None,
) -> CountTable:
    """A table of ``counts`` keyed by ``(*row, column)``: every row of ``fixed_rows`` (or
    every row seen, sorted) with every column, zeros included."""
    n = len(row_dims)
    row_keys = list(fixed_rows) if fixed_rows is not None else sorted({k[:n] for k in counts})
    rows = tuple(
        (row, tuple(counts.get((*row, column), 0) for column in columns)) for row in row_keys
    )
    return CountTable(
        key=key,
        title=title,
        row_dims=row_dims,
        columns=columns,
        rows=rows,
        total=sum(counts.values()),
        dynamic_rows=fixed_rows is None,
        note=note,
    )


# ---- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransparencyReport:
    region: str
    since: datetime
    until: datetime
    entries: int | None
    """Audit entries that counted towards the report (``None`` when suppressed)."""
    first_seq: int | None
    last_seq: int | None
    skipped: int
    """Leaves of the window that could not be read (malformed): they are not counted."""
    tables: dict[str, CountTable]
    suppressed: bool = False
    k: int | None = None
    notes: dict[str, str] = field(default_factory=lambda: dict(NOTES))

    @property
    def days(self) -> int:
        return max(1, round((self.until - self.since) / timedelta(days=1)))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "region": self.region,
            "since": format_time(self.since),
            "until": format_time(self.until),
            "days": self.days,
            "source": "audit log",
            "entries": self.entries,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "skipped": self.skipped,
            "suppressed": self.suppressed,
            "k": self.k,
            "tables": {key: table.to_json() for key, table in self.tables.items()},
        }


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return as_utc(moment)


def _text(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


class ReportBuilder:
    """Feed decoded audit leaves (``add``) and ``build`` the report of one region."""

    def __init__(self, region: str, since: datetime, until: datetime) -> None:
        self.region = region
        self.since = as_utc(since)
        self.until = as_utc(until)
        self.entries = 0
        self.skipped = 0
        self.first_seq: int | None = None
        self.last_seq: int | None = None
        self.by_jurisdiction: Counter[tuple[str, ...]] = Counter()
        self.by_action_purpose: Counter[tuple[str, ...]] = Counter()
        self.break_glass: Counter[tuple[str, ...]] = Counter()
        self.tickets: Counter[tuple[str, ...]] = Counter()
        self.privacy: Counter[tuple[str, ...]] = Counter()
        self.governance: Counter[tuple[str, ...]] = Counter()
        self.takedowns: Counter[tuple[str, ...]] = Counter()

    def add_bytes(self, leaf_data: bytes) -> None:
        """Add one leaf exactly as stored (canonical JSON bytes)."""
        try:
            leaf = json.loads(leaf_data)
        except (ValueError, UnicodeDecodeError):
            self.skipped += 1
            return
        self.add(leaf)

    def add(self, leaf: object) -> None:
        """Add one decoded leaf; ignored unless it is of this region (or a global governance
        leaf) and inside the window."""
        if not isinstance(leaf, Mapping):
            self.skipped += 1
            return
        moment = _parse_time(leaf.get("time"))
        kind = leaf.get("kind")
        attributes = leaf.get("attributes")
        seq = leaf.get("seq")
        region = leaf.get("region")
        if (
            moment is None
            or not isinstance(kind, str)
            or not isinstance(attributes, Mapping)
            or type(seq) is not int
            or not (region is None or isinstance(region, str))
        ):
            self.skipped += 1
            return
        if not self.since <= moment < self.until:
            return
        if self._count(kind, region, attributes):
            self.entries += 1
            self.first_seq = seq if self.first_seq is None else min(self.first_seq, seq)
            self.last_seq = seq if self.last_seq is None else max(self.last_seq, seq)

    def _count(self, kind: str, region: str | None, attrs: Mapping[str, Any]) -> bool:
        """Count one in-window leaf; returns whether it counted towards the report."""
        if kind in ("policy.change", "model.deploy"):
            return self._governance(kind, region, attrs)
        if region != self.region:
            return False
        if kind == "access.decision":
            outcome = "allowed" if attrs.get("allowed") is True else "denied"
            jurisdiction = _text(attrs.get("actor_jurisdiction"), UNKNOWN)
            action = _text(attrs.get("action"), UNKNOWN)
            purpose = _text(attrs.get("purpose"), NO_PURPOSE)
            self.by_jurisdiction[(jurisdiction, outcome)] += 1
            self.by_action_purpose[(action, purpose, outcome)] += 1
            if action == "break_glass_read":
                self.break_glass[(f"reads {outcome}", "count")] += 1
            return True
        if kind == "access.break_glass":
            event = attrs.get("event")
            if event == "requested":
                self.break_glass[("requested", "count")] += 1
            elif event == "approved":
                self.break_glass[("approvals", "count")] += 1
                if attrs.get("status") == "approved":
                    self.break_glass[("grants completed", "count")] += 1
            elif event == "approval_refused":
                self.break_glass[("approvals refused", "count")] += 1
            else:
                return False
            return True
        if kind == "access.ticket":
            event = attrs.get("event")
            label = {
                "requested": "requested",
                "approved": "approved",
                "approval_refused": "approvals refused",
            }.get(event if isinstance(event, str) else "")
            if label is None:
                return False
            self.tickets[(label, "count")] += 1
            return True
        if kind in ("privacy.export", "privacy.erasure"):
            law = attrs.get("law")
            if law not in LAWS:
                return False
            request_kind = "export" if kind == "privacy.export" else "delete"
            self.privacy[(request_kind, str(law))] += 1
            return True
        if kind in TAKEDOWN_KINDS:
            self.takedowns[("takedowns", "count")] += 1
            return True
        return False

    def _governance(self, kind: str, region: str | None, attrs: Mapping[str, Any]) -> bool:
        if region == self.region:
            scope = "region"
        elif region is None:
            scope = "global"
        else:
            return False
        action = attrs.get("action")
        if action == "apply":
            row = "policy changes applied" if kind == "policy.change" else "deployments allowlisted"
        elif action == "genesis" and kind == "model.deploy":
            row = "allowlisted at genesis"
        elif action == "revoke" and kind == "model.deploy":
            row = "deployments revoked"
        else:
            return False
        self.governance[(row, scope)] += 1
        return True

    def build(self) -> TransparencyReport:
        tables = [
            _table(
                "decisions_by_jurisdiction",
                "Access decisions by requester jurisdiction",
                ("jurisdiction",),
                OUTCOMES,
                self.by_jurisdiction,
            ),
            _table(
                "decisions_by_action_purpose",
                "Access decisions by action and purpose",
                ("action", "purpose"),
                OUTCOMES,
                self.by_action_purpose,
            ),
            _table(
                "break_glass",
                "Break-glass (emergency) access",
                ("event",),
                COUNT,
                self.break_glass,
                fixed_rows=[(row,) for row in BREAK_GLASS_ROWS],
            ),
            _table(
                "tickets",
                "Bulk-access tickets",
                ("event",),
                COUNT,
                self.tickets,
                fixed_rows=[(row,) for row in TICKET_ROWS],
            ),
            _table(
                "privacy_requests",
                "Privacy requests by kind and law",
                ("kind",),
                LAWS,
                self.privacy,
                fixed_rows=[(row,) for row in PRIVACY_ROWS],
                note=NOTES["privacy_requests"],
            ),
            _table(
                "governance",
                "Governance changes",
                ("change",),
                SCOPES,
                self.governance,
                fixed_rows=[(row,) for row in GOVERNANCE_ROWS],
                note=NOTES["governance"],
            ),
            _table(
                "takedowns",
                "Takedowns",
                ("event",),
                COUNT,
                self.takedowns,
                fixed_rows=[("takedowns",)],
                note=NOTES["takedowns"],
            ),
        ]
        return TransparencyReport(
            region=self.region,
            since=self.since,
            until=self.until,
            entries=self.entries,
            first_seq=self.first_seq,
            last_seq=self.last_seq,
            skipped=self.skipped,
            tables={table.key: table for table in tables},
        )


def compute_report(
    leaves: Iterable[object], *, region: str, since: datetime, until: datetime
) -> TransparencyReport:
    """The report of ``region`` for ``since <= time < until`` over decoded audit leaves."""
    builder = ReportBuilder(region, since, until)
    for leaf in leaves:
        builder.add(leaf)
    return builder.build()


# ---- suppression -----------------------------------------------------------------------------


def _suppress_table(table: CountTable, k: int) -> CountTable:
    """Every cell below ``k`` (and its complement, the whole table being one group whose
    total is published) becomes ``None``; so does a total below ``k``. Rows of data-derived
    labels whose every cell is hidden are folded into one "other" row."""
    flat = {
        (*row, column): count
        for row, counts in table.rows
        for column, count in zip(table.columns, counts, strict=True)
        if count is not None
    }
    hidden = suppress_small_cells(flat, k)
    rows: list[tuple[tuple[str, ...], tuple[int | None, ...]]] = []
    folded = False
    for row, _ in table.rows:
        counts = tuple(hidden.get((*row, column)) for column in table.columns)
        if table.dynamic_rows and all(count is None for count in counts):
            folded = True
            continue
        rows.append((row, counts))
    if folded:
        label = (OTHER, *([""] * (len(table.row_dims) - 1)))
        rows.append((label, tuple(None for _ in table.columns)))
    total = table.total if table.total is not None and table.total >= k else None
    return replace(table, rows=tuple(rows), total=total)


def suppress(report: TransparencyReport, k: int = MIN_K) -> TransparencyReport:
    """``report`` with small cells suppressed in every table (k >= 10, see
    :mod:`shopreel.sovereignty.anonymity`). Each table is protected against its own total;
    inference across tables is not modelled."""
    tables = {key: _suppress_table(table, k) for key, table in report.tables.items()}
    entries = report.entries if report.entries is not None and report.entries >= k else None
    return replace(report, tables=tables, suppressed=True, k=k, entries=entries)


# ---- who sees what, and loading ---------------------------------------------------------------


def viewer_sees_raw(principal: Principal, region: str, settings: Settings) -> bool:
    """Small counts of ``region`` are shown only to its trust officers; everyone else
    (other regions' staff, and staff of the region without the trust officer role) gets
    the suppressed report."""
    if not principal.is_staff or not principal.jurisdiction:
        return False
    home = settings.region_for_country(principal.jurisdiction)
    return home == region and TRUST_OFFICER in principal.staff_roles


async def regional_report(
    session: AsyncSession, region: str, *, since: datetime, until: datetime
) -> TransparencyReport:
    """Stream the leaves of ``region`` (and global leaves) of the window from the control
    plane into a :class:`ReportBuilder`. The columns only narrow the scan; every count is
    taken from the leaf bytes themselves."""
    query = (
        select(AuditEntry.leaf_data)
        .where(
            or_(AuditEntry.region == region, AuditEntry.region.is_(None)),
            AuditEntry.created_at >= as_utc(since) - timedelta(seconds=1),
            AuditEntry.created_at < as_utc(until) + timedelta(seconds=1),
        )
        .order_by(AuditEntry.seq)
    )
    builder = ReportBuilder(region, since, until)
    stream = await session.stream(query)
    async for chunk in stream.partitions(_STREAM_CHUNK):
        for (leaf_data,) in chunk:
            builder.add_bytes(bytes(leaf_data))
    return builder.build()
