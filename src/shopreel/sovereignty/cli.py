"""``shopreel audit``: verify, publish and browse the tamper-evident audit log."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.config import Settings, get_settings
from shopreel.errors import ShopReelError
from shopreel.planes import CONTROL, Databases
from shopreel.sovereignty import audit
from shopreel.sovereignty.signing import KeyFileError, load_signer, public_key_from_bytes

audit_app = typer.Typer(
    help="The tamper-evident audit log: verify it, publish signed tree heads, browse it.",
    no_args_is_help=True,
)

_T = TypeVar("_T")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError: one line, not a trace
        raise _fail(f"invalid configuration: {str(exc).splitlines()[0]}") from None


def _with_control(settings: Settings, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
    """Run ``work`` in one control-plane transaction; database errors become one line."""

    async def run() -> _T:
        databases = Databases(settings, pool_size=1)
        try:
            async with databases.transaction(CONTROL) as session:
                return await work(session)
        finally:
            await databases.dispose()

    try:
        return asyncio.run(run())
    except SQLAlchemyError as exc:
        origin = exc.orig if isinstance(exc, DBAPIError) else exc
        detail = (str(origin).splitlines() or [""])[0]
        raise _fail(
            f"control database: {type(exc).__name__}: {detail} (run 'shopreel db upgrade'?)"
        ) from None


def _public_key(settings: Settings, encoded: str | None) -> Ed25519PublicKey:
    if encoded is None:
        return load_signer(settings.key_dir).public_key
    try:
        return public_key_from_bytes(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _fail(f"--public-key is not a base64 raw Ed25519 public key ({exc})") from None


def _known_heads(path: Path | None) -> list[audit.SignedHead]:
    if path is None:
        return []
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from None
    if isinstance(document, dict):
        document = document.get("tree_heads", [document])
    if not isinstance(document, list):
        raise _fail(f"{path} holds neither a tree head nor a list of them")
    try:
        return [audit.SignedHead.from_json(item) for item in document]
    except (TypeError, ValueError) as exc:
        raise _fail(f"{path}: {exc}") from None


@audit_app.command("verify")
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    known_heads: Annotated[
        Path | None,
        typer.Option(
            help="JSON file of tree heads obtained earlier (API format: one object, a list, "
            "or a /transparency/tree-heads page); catches truncations hidden by deleting "
            "tree heads from the database."
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(help="Pin the verifying key (base64 raw Ed25519) instead of the key file."),
    ] = None,
) -> None:
    """Recompute every entry, root and signature; name the first tampered seq.

    Exits 1 if anything is wrong, 0 with a one-line summary if the log is intact.
    """
    settings = _settings()
    heads = _known_heads(known_heads)
    try:
        key = _public_key(settings, public_key)
    except KeyFileError as exc:
        raise _fail(str(exc)) from None

    async def work(session: AsyncSession) -> audit.VerificationReport:
        return await audit.verify_log(session, key, known_heads=heads)

    report = _with_control(settings, work)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("publish")
def publish() -> None:
    """Sign the current root of the log and store it as a new signed tree head."""
    settings = _settings()
    try:
        signer = load_signer(settings.key_dir)
    except KeyFileError as exc:
        raise _fail(str(exc)) from None

    async def work(session: AsyncSession) -> audit.SignedHead:
        return audit.SignedHead.from_row(await audit.publish_tree_head(session, signer))

    try:
        head = _with_control(settings, work)
    except ShopReelError as exc:
        raise _fail(exc.detail) from None
    typer.echo(
        f"signed tree head: size {head.tree_size}, root {head.root_hash.hex()}, key {head.key_id}"
    )


@audit_app.command("show")
def show(
    last: Annotated[int, typer.Option(min=1, max=10_000, help="How many recent entries.")] = 20,
) -> None:
    """The most recent entries, as recorded in their hashed leaf data."""
    settings = _settings()

    async def work(session: AsyncSession) -> list[tuple[int, bytes]]:
        result = await session.execute(
            text("SELECT seq, leaf_data FROM audit_entries ORDER BY seq DESC LIMIT :n"),
            {"n": last},
        )
        return [(int(seq), bytes(data)) for seq, data in result]

    rows = _with_control(settings, work)
    table = Table(title=f"audit log: last {len(rows)} entries")
    table.add_column("seq", no_wrap=True, justify="right")
    table.add_column("time (UTC)", no_wrap=True)
    for column in ("kind", "actor", "subject", "region"):
        table.add_column(column, overflow="fold")
    table.add_column("attributes", overflow="fold", ratio=2)
    for seq, data in reversed(rows):
        try:
            leaf = json.loads(data)
        except ValueError:
            leaf = None
        if not isinstance(leaf, dict):
            table.add_row(str(seq), "", Text("unreadable leaf data", style="red"))
            continue
        attributes = json.dumps(leaf.get("attributes"), ensure_ascii=False, separators=(",", ":"))
        if len(attributes) > 80:
            attributes = attributes[:77] + "..."
        moment = str(leaf.get("time", ""))
        moment = moment.replace("T", " ").removesuffix("Z")
        cells = [moment, *(leaf.get(key) for key in ("kind", "actor", "subject", "region"))]
        # Text(), not str: recorded values must never be read as Rich markup.
        table.add_row(
            str(seq), *(Text(str(c) if c is not None else "") for c in cells), Text(attributes)
        )
    Console().print(table)
