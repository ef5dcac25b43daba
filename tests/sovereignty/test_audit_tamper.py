"""Tampering with the audit log is refused by the database, and detected when forced.

The attacker here has raw database access with DDL rights (e.g. a DB superuser): they drop
the append-only triggers with plain SQL and then edit, delete, reorder or truncate rows and
forge tree heads. :func:`verify_log` must catch every case. Two cases cannot be seen from
the database alone (a truncation whose tree heads were deleted too, and a rewritten history
signed again after deleting the tree heads that covered it); outsiders catch those with the
tree heads they fetched earlier (``known_heads``), and the tests show both sides.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shopreel.migrate import alembic_config, current_revision, head_revision
from shopreel.planes import CONTROL, sync_url
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit, merkle
from shopreel.sovereignty.audit import SignedHead
from shopreel.sovereignty.models import AuditEntry, SignedTreeHead
from shopreel.sovereignty.signing import TreeHeadSigner
from tests.sovereignty.test_audit import append_entries, publish, signer_for, verify

ENTRIES = AuditEntry.metadata.tables["audit_entries"]
HEADS = SignedTreeHead.metadata.tables["signed_tree_heads"]
TRIGGERS_SQLITE = {
    "audit_entries_no_update",
    "audit_entries_no_delete",
    "signed_tree_heads_no_update",
    "signed_tree_heads_no_delete",
}
TRIGGERS_PG = {
    "audit_entries_append_only",
    "audit_entries_no_truncate",
    "signed_tree_heads_append_only",
    "signed_tree_heads_no_truncate",
}


async def trigger_ddl(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    """(name, table, CREATE TRIGGER statement) of every trigger on the audit tables."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            result = await conn.execute(
                text(
                    "SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
                    "AND c.relname IN ('audit_entries', 'signed_tree_heads') ORDER BY 1"
                )
            )
        else:
            result = await conn.execute(
                text(
                    "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name IN ('audit_entries', 'signed_tree_heads') ORDER BY 1"
                )
            )
        return [(str(a), str(b), str(c)) for a, b, c in result]


@dataclass
class Attacker:
    """Raw SQL on the control database, the way a DB superuser would do it."""

    engine: AsyncEngine
    triggers: list[tuple[str, str, str]]

    async def sql(self, statement: str, **params: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(statement), params)

    async def drop_triggers(self) -> None:
        postgres = self.engine.dialect.name == "postgresql"
        for name, table, _ in self.triggers:
            await self.sql(f"DROP TRIGGER {name}" + (f" ON {table}" if postgres else ""))

    async def restore_triggers(self) -> None:
        postgres = self.engine.dialect.name == "postgresql"
        async with self.engine.begin() as conn:
            for name, table, ddl in self.triggers:
                suffix = f" ON {table}" if postgres else ""
                await conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{suffix}")
                await conn.exec_driver_sql(ddl)

    async def leaf(self, seq: int) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            data = await conn.scalar(
                text("SELECT leaf_data FROM audit_entries WHERE seq = :s"), {"s": seq}
            )
        loaded: dict[str, Any] = json.loads(bytes(data))
        return loaded

    async def rewrite(self, seq: int, *, fix_hash: bool) -> None:
        """Change entry ``seq``'s recorded decision; a careful attacker fixes the hash too."""
        leaf = await self.leaf(seq)
        leaf["attributes"]["allowed"] = not leaf["attributes"]["allowed"]
        data = audit.canonical_json(leaf)
        if not fix_hash:
            await self.sql("UPDATE audit_entries SET leaf_data = :d WHERE seq = :s", d=data, s=seq)
            return
        await self.sql(
            "UPDATE audit_entries SET leaf_data = :d, leaf_hash = :h, attributes = :a "
            "WHERE seq = :s",
            d=data,
            h=merkle.leaf_hash(data),
            a=json.dumps(leaf["attributes"]),
            s=seq,
        )


@pytest.fixture
async def attacker(runtime: Runtime) -> AsyncIterator[Attacker]:
    engine = runtime.databases.engine(CONTROL)
    triggers = await trigger_ddl(engine)
    expected = TRIGGERS_PG if engine.dialect.name == "postgresql" else TRIGGERS_SQLITE
    assert {name for name, _, _ in triggers} == expected
    attacker = Attacker(engine, triggers)
    try:
        yield attacker
    finally:
        await attacker.restore_triggers()
        assert await trigger_ddl(engine) == triggers


# ---- the database refuses changes ------------------------------------------------------------


async def test_triggers_refuse_update_and_delete(runtime: Runtime) -> None:
    signer = signer_for(runtime.settings)
    await append_entries(runtime, 3)
    await publish(runtime, signer)
    engine = runtime.databases.engine(CONTROL)
    statements = [
        "UPDATE audit_entries SET kind = 'forged' WHERE seq = 1",
        "UPDATE audit_entries SET seq = seq + 100",
        "DELETE FROM audit_entries WHERE seq = 2",
        "DELETE FROM audit_entries",
        "UPDATE signed_tree_heads SET tree_size = 99",
        "DELETE FROM signed_tree_heads",
    ]
    for statement in statements:
        async with engine.connect() as conn:
            with pytest.raises(IntegrityError, match="append-only"):
                await conn.execute(text(statement))
            await conn.rollback()
    async with runtime.databases.session(CONTROL) as session:
        with pytest.raises(IntegrityError):
            await session.execute(delete(AuditEntry).where(AuditEntry.seq == 0))
        await session.rollback()
        with pytest.raises(IntegrityError):
            await session.execute(update(SignedTreeHead).values(key_id="x"))
        await session.rollback()
        entry = await session.get(AuditEntry, 1)
        assert entry is not None
        entry.kind = "forged"
        with pytest.raises(IntegrityError):
            await session.flush()
    assert (await verify(runtime, signer)).ok


async def test_postgres_refuses_truncate(runtime: Runtime) -> None:
    engine = runtime.databases.engine(CONTROL)
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    await append_entries(runtime, 2)
    for table in ("audit_entries", "signed_tree_heads"):
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(f"TRUNCATE {table}"))
            await conn.rollback()
    async with runtime.databases.session(CONTROL) as session:
        assert await audit.log_size(session) == 2


async def test_migration_downgrade_removes_and_upgrade_restores_the_triggers(
    runtime: Runtime,
) -> None:
    url = runtime.databases.url(CONTROL)
    config = alembic_config(url, CONTROL)
    engine = runtime.databases.engine(CONTROL)
    before = await trigger_ddl(engine)
    try:
        command.downgrade(config, "c0001")
        assert current_revision(sync_url(url)) == "c0001"
        assert await trigger_ddl(engine) == []
        await append_entries(runtime, 1)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_entries"))  # no longer refused
    finally:
        command.upgrade(config, "head")
    assert current_revision(sync_url(url)) == head_revision(CONTROL)
    assert await trigger_ddl(engine) == before


# ---- tampering is detected -------------------------------------------------------------------

_TEMPLATE: dict[str, Any] = {}
SIZES = (250, 500, 1000)


async def build_log(runtime: Runtime, signer: TreeHeadSigner) -> list[SignedHead]:
    """A 1,000-entry log with tree heads at 250, 500 and 1000; returns the published heads.

    Built through the service once per run, then copied row for row for every other case.
    """
    engine = runtime.databases.engine(CONTROL)
    if not _TEMPLATE:
        heads = []
        for size in SIZES:
            async with runtime.databases.session(CONTROL) as session:
                missing = size - await audit.log_size(session)
            await append_entries(runtime, missing)
            heads.append(await publish(runtime, signer))
        async with engine.connect() as conn:
            _TEMPLATE["entries"] = [
                dict(row._mapping) for row in await conn.execute(select(ENTRIES))
            ]
            _TEMPLATE["heads"] = [dict(row._mapping) for row in await conn.execute(select(HEADS))]
        _TEMPLATE["published"] = heads
    else:
        async with engine.begin() as conn:
            await conn.execute(insert(ENTRIES), _TEMPLATE["entries"])
            await conn.execute(insert(HEADS), _TEMPLATE["heads"])
    published: list[SignedHead] = _TEMPLATE["published"]
    assert [h.tree_size for h in published] == list(SIZES)
    return published


@dataclass
class Ctx:
    runtime: Runtime
    attacker: Attacker
    signer: TreeHeadSigner
    published: list[SignedHead]


Attack = Callable[[Ctx], Awaitable[None]]


def rewrite(seq: int, *, fix_hash: bool) -> Attack:
    async def attack(ctx: Ctx) -> None:
        await ctx.attacker.rewrite(seq, fix_hash=fix_hash)

    return attack


def sql(statement: str, **params: Any) -> Attack:
    async def attack(ctx: Ctx) -> None:
        await ctx.attacker.sql(statement, **params)

    return attack


def steps(*attacks: Attack) -> Attack:
    async def attack(ctx: Ctx) -> None:
        for step in attacks:
            await step(ctx)

    return attack


def swap(a: int, b: int) -> Attack:
    return steps(
        sql("UPDATE audit_entries SET seq = -1 WHERE seq = :a", a=a),
        sql("UPDATE audit_entries SET seq = :a WHERE seq = :b", a=a, b=b),
        sql("UPDATE audit_entries SET seq = :b WHERE seq = -1", b=b),
    )


def truncate(keep: int, *, drop_heads_above: int | None = None) -> Attack:
    attacks = [sql("DELETE FROM audit_entries WHERE seq >= :k", k=keep)]
    if drop_heads_above is not None:
        attacks.append(
            sql("DELETE FROM signed_tree_heads WHERE tree_size > :n", n=drop_heads_above)
        )
    return steps(*attacks)


async def reappend_and_publish(ctx: Ctx) -> None:
    """After a truncation the application goes on appending and publishing as usual."""
    await append_entries(ctx.runtime, 100, kind="refund")
    head = await publish(ctx.runtime, ctx.signer)
    assert head.tree_size == 1000
    assert head.root_hash != ctx.published[-1].root_hash  # a different history
    assert merkle.verify_tree_head(ctx.signer.public_key, head.tree_head, head.signature)


async def reappend_from_400(ctx: Ctx) -> None:
    """Rewrite history from seq 400: the service refuses to sign it (STH 500 disagrees)."""
    await append_entries(ctx.runtime, 600, kind="refund")
    async with ctx.runtime.databases.transaction(CONTROL) as session:
        with pytest.raises(audit.AuditLogCorrupted, match="rewritten history"):
            await audit.publish_tree_head(session, ctx.signer)


async def forge_head(ctx: Ctx) -> None:
    head = ctx.published[1]
    async with ctx.attacker.engine.begin() as conn:
        await conn.execute(
            insert(HEADS).values(
                tree_size=750,
                timestamp_ms=head.timestamp_ms + 1,
                root_hash=b"\x42" * 32,
                signature=b"\x00" * 64,
                key_id=ctx.signer.key_id,
            )
        )


async def forge_head_with_own_key(ctx: Ctx) -> None:
    """The attacker signs a head for the truncated log with a key of their own."""
    stranger = TreeHeadSigner.from_seed(b"\x66" * 32)
    async with ctx.runtime.databases.session(CONTROL) as session:
        hashes = await audit.leaf_hashes(session, 900)
    timestamp_ms = ctx.published[-1].timestamp_ms + 5
    tree_head = merkle.TreeHead(900, timestamp_ms, merkle.root_from_leaf_hashes(hashes))
    async with ctx.attacker.engine.begin() as conn:
        await conn.execute(
            insert(HEADS).values(
                tree_size=900,
                timestamp_ms=tree_head.timestamp_ms,
                root_hash=tree_head.root_hash,
                signature=stranger.sign(tree_head),
                key_id=stranger.key_id,
            )
        )


SAME = -1


@dataclass(frozen=True)
class Case:
    attack: Attack
    first_bad: int | None  # reported when verifying with the published tree heads
    local: bool = True  # detectable from the database alone
    says: str = ""
    local_first_bad: int | None = SAME  # reported from the database alone, if different


CASES: dict[str, Case] = {
    # leaf_data edited, leaf_hash left alone
    "edit-leaf-data-0": Case(rewrite(0, fix_hash=False), 0, says="leaf_hash does not match"),
    "edit-leaf-data-499": Case(rewrite(499, fix_hash=False), 499),
    "edit-leaf-data-999": Case(rewrite(999, fix_hash=False), 999),
    # leaf_data, leaf_hash and browse columns all consistent: only the tree heads know. The
    # first bad seq is then the first one not covered by the last matching tree head.
    "rewrite-with-hash-0": Case(rewrite(0, fix_hash=True), 0, says="rewritten"),
    "rewrite-with-hash-499": Case(rewrite(499, fix_hash=True), 250, says="seq 250..499"),
    "rewrite-with-hash-999": Case(rewrite(999, fix_hash=True), 500, says="seq 500..999"),
    "edit-leaf-hash-only": Case(
        sql("UPDATE audit_entries SET leaf_hash = :h WHERE seq = 321", h=b"\x01" * 32), 321
    ),
    "edit-kind-column": Case(
        sql("UPDATE audit_entries SET kind = 'policy.change' WHERE seq = 123"),
        123,
        says="column kind",
    ),
    "edit-actor-column": Case(
        sql("UPDATE audit_entries SET actor_id = 'usr_us_innocent' WHERE seq = 77"), 77
    ),
    "edit-subject-column": Case(
        sql("UPDATE audit_entries SET subject_id = NULL WHERE seq = 640"), 640
    ),
    "edit-region-column": Case(sql("UPDATE audit_entries SET region = 'us' WHERE seq = 2"), 2),
    "edit-attributes-column": Case(
        sql("UPDATE audit_entries SET attributes = '{}' WHERE seq = 808"),
        808,
        says="column attributes",
    ),
    "delete-first": Case(sql("DELETE FROM audit_entries WHERE seq = 0"), 0, says="deleted"),
    "delete-middle": Case(sql("DELETE FROM audit_entries WHERE seq = 500"), 500),
    "delete-range": Case(sql("DELETE FROM audit_entries WHERE seq BETWEEN 600 AND 609"), 600),
    "delete-last": Case(sql("DELETE FROM audit_entries WHERE seq = 999"), 999),
    "swap-10-20": Case(swap(10, 20), 10, says="reordered"),
    "swap-499-500": Case(swap(499, 500), 499),
    "truncate-last-100": Case(truncate(900), 900, says="truncation"),
    "truncate-600-and-delete-sth-1000": Case(truncate(400, drop_heads_above=500), 400),
    "truncate-and-rewrite-from-400": Case(
        steps(truncate(400, drop_heads_above=500), reappend_from_400), 250, says="seq 250..499"
    ),
    # Invisible from the database alone: the outside world's tree heads catch these.
    "truncate-100-and-delete-sth-1000": Case(truncate(900, drop_heads_above=500), 900, local=False),
    "truncate-reappend-and-resign": Case(
        steps(truncate(900, drop_heads_above=500), reappend_and_publish),
        500,
        local=False,
        says="forked",
    ),
    "delete-sth-500": Case(
        sql("DELETE FROM signed_tree_heads WHERE tree_size = 500"), None, local=False
    ),
    # tree heads
    "forge-sth-wrong-signature": Case(forge_head, None, says="signature does not verify"),
    "alter-sth-root": Case(
        sql("UPDATE signed_tree_heads SET root_hash = :r WHERE tree_size = 500", r=b"\x00" * 32),
        None,
    ),
    "alter-sth-size": Case(
        sql("UPDATE signed_tree_heads SET tree_size = 999 WHERE tree_size = 1000"), None
    ),
    "forge-sth-other-key-after-truncation": Case(
        steps(truncate(900, drop_heads_above=500), forge_head_with_own_key),
        900,
        says="not the verifying key",
        local_first_bad=None,  # the forged head is refused; the truncation needs outsiders
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_tampering_is_detected(runtime: Runtime, attacker: Attacker, name: str) -> None:
    case = CASES[name]
    signer = signer_for(runtime.settings)
    published = await build_log(runtime, signer)
    assert (await verify(runtime, signer, published)).ok

    await attacker.drop_triggers()
    await case.attack(Ctx(runtime, attacker, signer, published))

    witnessed = await verify(runtime, signer, published)
    assert not witnessed.ok, name
    assert witnessed.first_bad_seq == case.first_bad, witnessed.problems
    if case.says:
        assert case.says in " | ".join(witnessed.problems)
    assert witnessed.summary().startswith("audit log TAMPERED: ")
    if case.first_bad is not None:
        assert f"first tampered seq {case.first_bad}:" in witnessed.summary()

    local = await verify(runtime, signer)
    if case.local:
        assert not local.ok
        expected = case.first_bad if case.local_first_bad == SAME else case.local_first_bad
        assert local.first_bad_seq == expected, local.problems
    else:
        assert local.ok, "expected to need the outside world's tree heads"


async def test_every_published_tree_head_is_reproducible_after_the_build(
    runtime: Runtime,
) -> None:
    signer = signer_for(runtime.settings)
    published = await build_log(runtime, signer)
    report = await verify(runtime, signer, published)
    assert report.ok and report.entries == 1000 and report.tree_heads == 3
    async with runtime.databases.session(CONTROL) as session:
        hashes = await audit.leaf_hashes(session, 1000)
    for head in published:
        assert merkle.root_from_leaf_hashes(hashes[: head.tree_size]) == head.root_hash
