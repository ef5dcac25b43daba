"""Public, unauthenticated JSON API of the audit log's transparency data.

Everything an outsider needs to check the log without trusting the server: the signing
public key, the signed tree heads (STHs), the leaves exactly as hashed, and inclusion and
consistency proofs. Hashes are lowercase hex; the public key, signatures and leaf data are
standard base64. See ``docs/transparency.md``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.deps import CurrentPrincipal, RuntimeDep
from shopreel.errors import NotFound, ValidationFailed
from shopreel.planes import CONTROL
from shopreel.sovereignty import audit
from shopreel.sovereignty.models import SignedTreeHead
from shopreel.sovereignty.signing import load_signer

router = APIRouter(prefix="/transparency", tags=["transparency"])

_MAX = 2**31 - 1  # seq and tree_size are 32-bit integer columns


async def _control_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.databases.session(CONTROL) as session:
        yield session


ControlSession = Annotated[AsyncSession, Depends(_control_session)]


class TreeHeadOut(BaseModel):
    tree_size: int = Field(description="Number of entries (seq 0..tree_size-1) covered.")
    timestamp_ms: int = Field(description="Milliseconds since the Unix epoch, as signed.")
    timestamp: str = Field(description="The same instant, ISO-8601 UTC.")
    root_hash: str = Field(description="RFC 6962 Merkle tree hash, hex.")
    signature: str = Field(
        description="Ed25519 over 0x01 || u64 tree_size || u64 timestamp_ms || root, base64."
    )
    key_id: str = Field(description="First 16 bytes of SHA-256(raw public key), hex.")


class TreeHeadPage(BaseModel):
    tree_heads: list[TreeHeadOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )


class PublicKeyOut(BaseModel):
    algorithm: str = "Ed25519"
    public_key: str = Field(description="Raw 32-byte Ed25519 public key, base64.")
    key_id: str = Field(description="First 16 bytes of SHA-256(raw public key), hex.")


class InclusionProofOut(BaseModel):
    seq: int
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 || leaf_data), hex.")
    audit_path: list[str] = Field(description="RFC 6962 audit path, leaf to root, hex.")
    tree_head: TreeHeadOut | None = Field(
        description="The signed tree head of this tree_size, if one was published."
    )


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str] = Field(description="RFC 6962 consistency proof, hex.")
    first_tree_head: TreeHeadOut | None
    second_tree_head: TreeHeadOut | None


class EntryOut(BaseModel):
    seq: int
    leaf_hash: str = Field(description="Stored leaf hash, hex; recompute it from leaf_data.")
    leaf_data: str = Field(description="The exact bytes that were hashed, base64.")
    entry: dict[str, Any] | None = Field(description="leaf_data decoded as JSON.")


def _head(row: SignedTreeHead | None) -> TreeHeadOut | None:
    if row is None:
        return None
    return TreeHeadOut.model_validate(audit.SignedHead.from_row(row).to_json())


@router.get("/public-key")
async def public_key(runtime: RuntimeDep) -> PublicKeyOut:
    """The Ed25519 key that signs every tree head."""
    signer = load_signer(runtime.settings.key_dir)
    return PublicKeyOut(
        public_key=base64.b64encode(signer.public_key_raw).decode("ascii"),
        key_id=signer.key_id,
    )


@router.get("/tree-heads/latest")
async def latest_tree_head(session: ControlSession) -> TreeHeadOut:
    """The most recent signed tree head."""
    head = _head(await audit.latest_tree_head(session))
    if head is None:
        raise NotFound("No tree head has been published yet.")
    return head


@router.get("/tree-heads")
async def tree_heads(
    session: ControlSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=0, le=_MAX, description="Only sizes below this.")
    ] = None,
) -> TreeHeadPage:
    """Signed tree heads, largest (newest) first."""
    rows = await audit.list_tree_heads(session, limit=limit, before=before)
    heads = [h for h in map(_head, rows) if h is not None]
    next_before = rows[-1].tree_size if len(rows) == limit and rows[-1].tree_size > 0 else None
    return TreeHeadPage(tree_heads=heads, next_before=next_before)


@router.get("/proofs/inclusion")
async def inclusion_proof(
    session: ControlSession,
    seq: Annotated[int, Query(ge=0, le=_MAX)],
    tree_size: Annotated[
        int | None, Query(ge=1, le=_MAX, description="Default: the latest signed tree head's size.")
    ] = None,
) -> InclusionProofOut:
    """Proof that entry ``seq`` is in the tree of the first ``tree_size`` entries."""
    if tree_size is None:
        latest = await audit.latest_tree_head(session)
        if latest is None:
            raise NotFound("No tree head has been published yet; pass tree_size.")
        tree_size = latest.tree_size
    if seq >= tree_size:
        raise ValidationFailed(f"seq must be smaller than tree_size ({tree_size}).")
    proof = await audit.inclusion_proof(session, seq, tree_size)
    return InclusionProofOut(
        seq=seq,
        tree_size=tree_size,
        leaf_hash=proof.leaf_hash.hex(),
        audit_path=[h.hex() for h in proof.audit_path],
        tree_head=_head(await audit.tree_head_at(session, tree_size)),
    )


@router.get("/proofs/consistency")
async def consistency_proof(
    session: ControlSession,
    first: Annotated[int, Query(ge=0, le=_MAX)],
    second: Annotated[int, Query(ge=0, le=_MAX)],
) -> ConsistencyProofOut:
    """Proof that the tree of size ``first`` is a prefix of the tree of size ``second``."""
    if first > second:
        raise ValidationFailed("first must not be larger than second.")
    proof = await audit.consistency_proof(session, first, second)
    return ConsistencyProofOut(
        first=first,
        second=second,
        proof=[h.hex() for h in proof],
        first_tree_head=_head(await audit.tree_head_at(session, first)),
        second_tree_head=_head(await audit.tree_head_at(session, second)),
    )


class LeafHashesOut(BaseModel):
    start: int
    leaf_hashes: list[str] = Field(description="hex SHA-256 leaf hashes, in seq order")


@router.get("/leaf-hashes")
async def leaf_hashes_page(
    session: ControlSession,
    start: Annotated[int, Query(ge=0, le=_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> LeafHashesOut:
    """Leaf hashes (not contents): enough for anyone to recompute every signed root."""
    hashes = await audit.leaf_hash_range(session, start, limit)
    return LeafHashesOut(start=start, leaf_hashes=[h.hex() for h in hashes])


@router.get("/entries/{seq}")
async def entry(
    session: ControlSession,
    principal: CurrentPrincipal,
    seq: Annotated[int, Path(ge=0, le=_MAX)],
) -> EntryOut:
    """One leaf exactly as hashed (base64), and decoded. Entries name who acted on whose data,
    so only staff and the entry's subject may read one (others get 404)."""
    row = await audit.get_entry(session, seq)
    if row is None or not (principal.is_staff or row.subject_id == principal.id):
        raise NotFound(f"No audit entry {seq}.")
    data = bytes(row.leaf_data)
    try:
        decoded = json.loads(data)
    except ValueError:
        decoded = None
    return EntryOut(
        seq=seq,
        leaf_hash=bytes(row.leaf_hash).hex(),
        leaf_data=base64.b64encode(data).decode("ascii"),
        entry=decoded if isinstance(decoded, dict) else None,
    )
