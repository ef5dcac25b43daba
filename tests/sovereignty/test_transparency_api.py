"""The public transparency API: an outsider verifies the log from its answers alone."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit, merkle
from tests.fixtures.factories import api_login, create_user
from tests.sovereignty.test_audit import append_entries, publish, signer_for

API = "/api/v1/transparency"


@pytest.fixture
async def api(client: httpx.AsyncClient, runtime: Runtime) -> httpx.AsyncClient:
    """A client logged in as staff: entries (who acted on whose data) are not public."""
    await create_user(
        runtime,
        email="auditor@example.com",
        roles=("shopper", "staff"),
        jurisdiction="US",
        staff_roles=("trust_officer",),
    )
    await api_login(client, "auditor@example.com")
    return client


@pytest.fixture
async def anonymous(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(API + path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def problem(api: httpx.AsyncClient, path: str, status: int, **params: Any) -> Any:
    response = await api.get(API + path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    return body


def head_of(data: dict[str, Any]) -> tuple[merkle.TreeHead, bytes]:
    head = merkle.TreeHead(
        data["tree_size"], data["timestamp_ms"], bytes.fromhex(data["root_hash"])
    )
    return head, base64.b64decode(data["signature"])


async def test_public_key(api: httpx.AsyncClient, runtime: Runtime) -> None:
    body = await get(api, "/public-key")
    raw = base64.b64decode(body["public_key"])
    assert body["algorithm"] == "Ed25519" and len(raw) == 32
    assert body["key_id"] == hashlib.sha256(raw).digest()[:16].hex()
    assert raw == signer_for(runtime.settings).public_key_raw


async def test_nothing_published_yet(api: httpx.AsyncClient) -> None:
    body = await problem(api, "/tree-heads/latest", 404)
    assert body["code"] == "not_found"
    assert (await get(api, "/tree-heads")) == {"tree_heads": [], "next_before": None}
    await problem(api, "/proofs/inclusion", 404, seq=0)
    await problem(api, "/entries/0", 404)


async def test_tree_heads_are_signed_and_paged(api: httpx.AsyncClient, runtime: Runtime) -> None:
    signer = signer_for(runtime.settings)
    for count in (3, 4, 5):
        await append_entries(runtime, count)
        await publish(runtime, signer)
    public_key = Ed25519PublicKey.from_public_bytes(
        base64.b64decode((await get(api, "/public-key"))["public_key"])
    )
    latest = await get(api, "/tree-heads/latest")
    assert latest["tree_size"] == 12 and latest["key_id"] == signer.key_id
    assert latest["timestamp"].endswith("Z")
    head, signature = head_of(latest)
    assert merkle.verify_tree_head(public_key, head, signature)

    page = await get(api, "/tree-heads", limit=2)
    assert [h["tree_size"] for h in page["tree_heads"]] == [12, 7]
    assert page["next_before"] == 7
    page = await get(api, "/tree-heads", limit=2, before=page["next_before"])
    assert [h["tree_size"] for h in page["tree_heads"]] == [3]
    assert page["next_before"] is None
    for data in (await get(api, "/tree-heads"))["tree_heads"]:
        assert merkle.verify_tree_head(public_key, *head_of(data))

    for params in ({"limit": 0}, {"limit": 1001}, {"before": -1}, {"limit": "x"}):
        body = await problem(api, "/tree-heads", 422, **params)
        assert body["code"] == "validation_failed"


async def test_entries_are_served_exactly_as_hashed(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    await append_entries(runtime, 3)
    body = await get(api, "/entries/2")
    data = base64.b64decode(body["leaf_data"])
    assert body["seq"] == 2
    assert bytes.fromhex(body["leaf_hash"]) == hashlib.sha256(b"\x00" + data).digest()
    assert body["entry"]["seq"] == 2 and body["entry"]["v"] == 1
    assert body["entry"]["attributes"]["note"] == "naïve café ✓"
    assert data.decode("utf-8").count("naïve café ✓") == 1  # UTF-8, not \\u escapes
    await problem(api, "/entries/3", 404)
    await problem(api, "/entries/-1", 422)
    await problem(api, "/entries/99999999999", 422)
    await problem(api, "/entries/abc", 422)


async def test_inclusion_proofs(api: httpx.AsyncClient, runtime: Runtime) -> None:
    signer = signer_for(runtime.settings)
    await append_entries(runtime, 11)
    await publish(runtime, signer)
    await append_entries(runtime, 6)
    await publish(runtime, signer)
    await append_entries(runtime, 2)  # not yet covered by a tree head
    latest = await get(api, "/tree-heads/latest")
    for seq in range(17):
        body = await get(api, "/proofs/inclusion", seq=seq)  # default: the latest head
        assert body["tree_size"] == 17 and body["tree_head"] == latest
        root = bytes.fromhex(latest["root_hash"])
        entry = await get(api, f"/entries/{seq}")
        leaf = merkle.leaf_hash(base64.b64decode(entry["leaf_data"]))
        assert body["leaf_hash"] == leaf.hex()
        path = [bytes.fromhex(h) for h in body["audit_path"]]
        assert merkle.verify_inclusion(leaf, seq, 17, path, root)
        assert not merkle.verify_inclusion(leaf, (seq + 1) % 17, 17, path, root)
    eleven = await get(api, "/proofs/inclusion", seq=4, tree_size=11)
    assert eleven["tree_head"]["tree_size"] == 11
    unsigned = await get(api, "/proofs/inclusion", seq=4, tree_size=19)
    assert unsigned["tree_head"] is None and len(unsigned["audit_path"]) == 5
    await problem(api, "/proofs/inclusion", 422, seq=11, tree_size=11)
    await problem(api, "/proofs/inclusion", 422, seq=0, tree_size=0)
    await problem(api, "/proofs/inclusion", 404, seq=0, tree_size=20)
    await problem(api, "/proofs/inclusion", 422, seq=0, tree_size=2**40)
    await problem(api, "/proofs/inclusion", 422)


async def test_consistency_proofs(api: httpx.AsyncClient, runtime: Runtime) -> None:
    signer = signer_for(runtime.settings)
    roots: dict[int, bytes] = {}
    for count in (5, 3, 9):
        await append_entries(runtime, count)
        head = await publish(runtime, signer)
        roots[head.tree_size] = head.root_hash
    body = await get(api, "/proofs/consistency", first=5, second=17)
    assert body["first_tree_head"]["tree_size"] == 5
    assert body["second_tree_head"]["tree_size"] == 17
    proof = [bytes.fromhex(h) for h in body["proof"]]
    assert merkle.verify_consistency(5, 17, roots[5], roots[17], proof)
    assert not merkle.verify_consistency(5, 17, roots[8], roots[17], proof)
    body = await get(api, "/proofs/consistency", first=8, second=17)
    proof = [bytes.fromhex(h) for h in body["proof"]]
    assert merkle.verify_consistency(8, 17, roots[8], roots[17], proof)
    same = await get(api, "/proofs/consistency", first=17, second=17)
    assert same["proof"] == []
    partial = await get(api, "/proofs/consistency", first=3, second=6)
    assert partial["first_tree_head"] is None and partial["second_tree_head"] is None
    await problem(api, "/proofs/consistency", 422, first=9, second=8)
    await problem(api, "/proofs/consistency", 404, first=1, second=18)
    await problem(api, "/proofs/consistency", 422, first=1)


async def test_an_outsider_recomputes_every_tree_head(
    anonymous: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The procedure of docs/transparency.md, using nothing but the public API: signed heads,
    leaf hashes (no entry contents) and consistency proofs."""
    api = anonymous
    signer = signer_for(runtime.settings)
    for count in (4, 9, 2):
        await append_entries(runtime, count)
        await publish(runtime, signer)
    key = await get(api, "/public-key")
    public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    heads = sorted((await get(api, "/tree-heads"))["tree_heads"], key=lambda h: h["tree_size"])
    leaves: list[bytes] = []
    while len(leaves) < heads[-1]["tree_size"]:
        page = await get(api, "/leaf-hashes", start=len(leaves), limit=5)
        assert page["leaf_hashes"], "the log ended before the signed size"
        leaves.extend(bytes.fromhex(h) for h in page["leaf_hashes"])
    previous: dict[str, Any] | None = None
    for data in heads:
        head, signature = head_of(data)
        assert data["key_id"] == key["key_id"]
        assert merkle.verify_tree_head(public_key, head, signature)
        assert merkle.root_from_leaf_hashes(leaves[: head.tree_size]) == head.root_hash
        if previous is not None:
            proof = await get(
                api, "/proofs/consistency", first=previous["tree_size"], second=head.tree_size
            )
            assert merkle.verify_consistency(
                previous["tree_size"],
                head.tree_size,
                bytes.fromhex(previous["root_hash"]),
                head.root_hash,
                [bytes.fromhex(h) for h in proof["proof"]],
            )
        previous = data


async def test_no_authentication_needed_and_openapi_lists_the_routes(
    api: httpx.AsyncClient,
) -> None:
    api.cookies.clear()
    response = await api.get(API + "/public-key")
    assert response.status_code == 200
    spec = (await api.get("/api/v1/openapi.json")).json()
    for path in (
        "/tree-heads/latest",
        "/tree-heads",
        "/public-key",
        "/proofs/inclusion",
        "/proofs/consistency",
        "/entries/{seq}",
        "/leaf-hashes",
    ):
        assert f"{API}{path}" in spec["paths"]


async def test_entries_only_for_staff_and_their_subject(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subject = await create_user(runtime, email="subject@example.com")
    await create_user(runtime, email="stranger@example.com")
    async with runtime.databases.transaction(CONTROL) as session:
        await audit.append(
            session,
            kind="access.decision",
            actor_id="usr_us_staff",
            subject_id=subject.id,
            region="us",
            attributes={"allowed": True},
        )
    assert (await anonymous.get(API + "/entries/0")).status_code == 401
    await api_login(client, "stranger@example.com")
    assert (await client.get(API + "/entries/0")).status_code == 404
    await api_login(client, "subject@example.com")
    mine = await client.get(API + "/entries/0")
    assert mine.status_code == 200 and mine.json()["entry"]["subject"] == subject.id
    # Leaf hashes stay public: verification needs no contents.
    hashes = await anonymous.get(API + "/leaf-hashes")
    assert hashes.status_code == 200 and len(hashes.json()["leaf_hashes"]) == 1
    assert (await anonymous.get(API + "/leaf-hashes", params={"limit": 10_001})).status_code == 422
