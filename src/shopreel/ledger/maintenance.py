"""Wiping a throwaway ledger (test suites, demo resets): the only way rows ever leave it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shopreel.ledger.models import LEDGER_APPEND_ONLY_TABLES, LEDGER_TABLES


async def wipe_ledger_for_tests(conn: AsyncConnection) -> None:
    """Delete every ledger account, transaction and posting of one regional database,
    bypassing the append-only triggers for the length of the caller's transaction.

    Accounts go too: on PostgreSQL truncating (or cascading into) the postings fires their
    TRUNCATE trigger, so callers must leave all of :data:`LEDGER_TABLES` to this function.
    """
    if conn.dialect.name == "postgresql":
        for table in LEDGER_APPEND_ONLY_TABLES:
            await conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        await conn.execute(text(f"TRUNCATE {', '.join(LEDGER_TABLES)} CASCADE"))
        for table in LEDGER_APPEND_ONLY_TABLES:
            await conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        return
    # The no-op write opens the transaction, so the DDL below commits or rolls back with it.
    await conn.execute(text("UPDATE ledger_accounts SET id = id WHERE 1 = 0"))
    names = ", ".join(f"'{table}'" for table in LEDGER_APPEND_ONLY_TABLES)
    triggers = (
        await conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "  # noqa: S608
                f"AND tbl_name IN ({names}) ORDER BY name"
            )
        )
    ).all()
    for name, _sql in triggers:
        await conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    for table in LEDGER_TABLES:  # postings, transactions, accounts: foreign-key order
        await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - constant names
    for _name, sql in triggers:
        await conn.exec_driver_sql(sql)
