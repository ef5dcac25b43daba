"""Privacy service: legal clocks (pure), registries, deletion by crypto-shredding (a backup
taken before deletion cannot be read with the live keys), the open-requests view."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from shopreel.accounts import service as accounts
from shopreel.accounts.models import User, UserKey, UserStatus, WebSession
from shopreel.accounts.principal import Principal
from shopreel.catalog.models import Shop
from shopreel.content.models import CreatorProfile
from shopreel.errors import ValidationFailed
from shopreel.events.models import InteractionEvent
from shopreel.inventory import privacy as _inventory_privacy  # noqa: F401 - registers its hooks
from shopreel.kit.ids import new_id
from shopreel.planes import CONTROL, GLOBAL, regional
from shopreel.runtime import Runtime
from shopreel.sellers import privacy as _seller_privacy  # noqa: F401 - registers its hooks
from shopreel.sovereignty import audit, privacy
from shopreel.sovereignty.crypto import DecryptionError
from shopreel.sovereignty.privacy_models import Law, PrivacyRequest, RequestStatus
from shopreel.uow import UnitOfWork
from tests.fixtures import services
from tests.fixtures.factories import PASSWORD, api_login, create_user

# ---- shared helpers (imported by the other privacy test modules) ------------------------------


@pytest.fixture
async def privacy_client(
    app: FastAPI, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    yield client


async def principal_of(runtime: Runtime, user: User) -> Principal:
    async with UnitOfWork(runtime.databases, home_region=user.region) as uow:
        return await accounts.load_principal(uow, runtime, user, auth="session")


async def add_events(runtime: Runtime, user: User, count: int) -> list[str]:
    ids = [new_id("evt", user.region) for _ in range(count)]
    async with runtime.databases.transaction(regional(user.region)) as session:
        for index, event_id in enumerate(ids):
            session.add(
                InteractionEvent(
                    id=event_id,
                    user_id=user.id,
                    client_event_id=f"client-{event_id}",
                    kind="view",
                    video_id=f"vid_{event_id[-8:]}",
                    watch_ms=1000 * index,
                    region=user.region,
                )
            )
    return ids


async def add_public_rows(runtime: Runtime, user: User, tag: str) -> tuple[str, str]:
    """A shop and a creator profile owned by ``user``; returns (shop id, profile id)."""
    shop_id, profile_id = new_id("shp"), new_id("crp")
    async with runtime.databases.transaction(GLOBAL) as session:
        session.add(
            Shop(
                id=shop_id,
                handle=f"shop-{tag}",
                name=f"Shop {tag}",
                description=f"All things {tag}",
                owner_id=user.id,
                country="US",
                status="approved",
            )
        )
        session.add(
            CreatorProfile(
                id=profile_id,
                handle=f"creator-{tag}",
                display_name=f"Creator {tag}",
                bio=f"Videos about {tag}",
                user_id=user.id,
                home_region=user.region,
            )
        )
    return shop_id, profile_id


async def add_access_decision(
    runtime: Runtime, subject_id: str, *, allowed: bool = True, purpose: str = "support_ticket"
) -> int:
    async with runtime.databases.transaction(CONTROL) as session:
        entry = await audit.append(
            session,
            kind=privacy.ACCESS_DECISION,
            actor_id="usr_us_staffmember00000000000000",
            subject_id=subject_id,
            region="us",
            attributes={
                "action": "read",
                "purpose": purpose,
                "allowed": allowed,
                "reasons": ["staff-support-own-region"] if allowed else [],
                "actor_jurisdiction": "US",
                "actor_roles": ["staff"],
                "actor_staff_roles": ["support"],
                "category": "profile",
            },
        )
        return entry.seq


# ---- legal clocks (pure, no database) --------------------------------------------------------


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (at(2025, 1, 31), 1, at(2025, 2, 3)),  # Friday + 1 = Monday
        (at(2025, 2, 1), 1, at(2025, 2, 3)),  # Saturday + 1 = Monday
        (at(2025, 2, 2), 1, at(2025, 2, 3)),  # Sunday + 1 = Monday
        (at(2025, 2, 3), 10, at(2025, 2, 17)),  # two full weeks
        (at(2025, 2, 5), 3, at(2025, 2, 10)),  # Wednesday + 3 = Monday
        (at(2025, 2, 6), 0, at(2025, 2, 6)),
        (at(2024, 12, 31), 10, at(2025, 1, 14)),  # across a year; holidays not modelled
    ],
)
def test_business_days_skip_weekends(start: datetime, days: int, expected: datetime) -> None:
    assert privacy.add_business_days(start, days) == expected


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=1, max_value=60),
)
def test_business_days_property(start: datetime, days: int) -> None:
    end = privacy.add_business_days(start, days)
    assert end.weekday() < 5 and end.time() == start.time()
    between = [start + timedelta(days=n) for n in range(1, (end - start).days + 1)]
    assert sum(1 for moment in between if moment.weekday() < 5) == days


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(2025, 1, 31), at(2025, 2, 28)),
        (at(2024, 1, 31), at(2024, 2, 29)),  # leap year
        (at(2024, 2, 29), at(2024, 3, 29)),
        (at(2025, 3, 31), at(2025, 4, 30)),
        (at(2025, 8, 31), at(2025, 9, 30)),
        (at(2025, 12, 31), at(2026, 1, 31)),  # across a year
        (at(2025, 1, 15), at(2025, 2, 15)),
    ],
)
def test_one_calendar_month_clamps_to_month_end(start: datetime, expected: datetime) -> None:
    assert privacy.add_calendar_months(start, 1) == expected


def test_calendar_months_refuse_negative_and_count_many() -> None:
    assert privacy.add_calendar_months(at(2025, 1, 31), 13) == at(2026, 2, 28)
    with pytest.raises(ValueError, match="negative"):
        privacy.add_calendar_months(at(2025, 1, 31), -1)
    with pytest.raises(ValueError, match="negative"):
        privacy.add_business_days(at(2025, 1, 31), -1)


def test_law_follows_country() -> None:
    assert privacy.law_for_country("US") is Law.CCPA
    assert privacy.law_for_country(" us ") is Law.CCPA
    for country in ("DE", "FR", "GB", "JP", "BR", "PR"):
        assert privacy.law_for_country(country) is Law.GDPR


def test_ccpa_deadlines() -> None:
    received = at(2025, 1, 31)  # a Friday
    clocks = privacy.deadlines(Law.CCPA, received)
    assert clocks.acknowledge_by == at(2025, 2, 14)  # 10 business days
    assert clocks.complete_by == at(2025, 3, 17)  # 45 calendar days


def test_gdpr_deadlines() -> None:
    received = at(2025, 1, 31)
    clocks = privacy.deadlines("gdpr", received)
    assert clocks.acknowledge_by == at(2025, 2, 5)  # 3 business days
    assert clocks.complete_by == at(2025, 2, 28)  # one calendar month, clamped
    assert privacy.deadlines(Law.GDPR, at(2024, 1, 31)).complete_by == at(2024, 2, 29)


def _request(received: datetime, law: Law = Law.GDPR, **changes: Any) -> PrivacyRequest:
    clocks = privacy.deadlines(law, received)
    values: dict[str, Any] = {
        "id": new_id("prq", "intl"),
        "user_id": "usr_intl_x",
        "region": "intl",
        "kind": "export",
        "status": RequestStatus.RECEIVED.value,
        "law": law.value,
        "received_at": received,
        "acknowledged_at": None,
        "completed_at": None,
        "acknowledge_by": clocks.acknowledge_by,
        "complete_by": clocks.complete_by,
        "details": {},
    }
    values.update(changes)
    return PrivacyRequest(**values)


def test_clock_flags_overdue_steps() -> None:
    received = at(2025, 1, 31)
    fresh = privacy.clock(_request(received), at(2025, 2, 4))
    assert not fresh.overdue and fresh.time_left == at(2025, 2, 28) - at(2025, 2, 4)

    late_ack = privacy.clock(_request(received), at(2025, 2, 6))
    assert late_ack.acknowledge_overdue and not late_ack.complete_overdue and late_ack.overdue

    acknowledged = _request(received, status="acknowledged", acknowledged_at=at(2025, 2, 3))
    assert not privacy.clock(acknowledged, at(2025, 2, 20)).overdue
    past_due = privacy.clock(acknowledged, at(2025, 3, 1))
    assert past_due.complete_overdue and not past_due.acknowledge_overdue

    done = _request(received, status="completed", completed_at=at(2025, 2, 2))
    assert not privacy.clock(done, at(2026, 1, 1)).overdue
    rejected = _request(received, status="rejected", completed_at=at(2025, 2, 2))
    assert not privacy.clock(rejected, at(2026, 1, 1)).overdue


def test_transitions_only_move_forward() -> None:
    request = _request(at(2025, 1, 31))
    privacy.transition(request, RequestStatus.COMPLETED, at(2025, 2, 1))
    assert request.acknowledged_at == request.completed_at == at(2025, 2, 1)
    with pytest.raises(ValueError, match="completed request cannot"):
        privacy.transition(request, "acknowledged", at(2025, 2, 2))
    other = _request(at(2025, 1, 31))
    privacy.transition(other, "acknowledged", at(2025, 2, 1))
    privacy.transition(other, "rejected", at(2025, 2, 3))
    assert other.acknowledged_at == at(2025, 2, 1) and other.completed_at == at(2025, 2, 3)


def test_cursor_round_trip_and_refusals() -> None:
    assert privacy.decode_cursor(privacy.encode_cursor(1234)) == 1234
    for bad in ("", "zzz", "!!!", "YTE6LTE", privacy.encode_cursor(5) + "A", "é", "YTI6NQ"):
        with pytest.raises(ValidationFailed) as caught:
            privacy.decode_cursor(bad)
        assert caught.value.code == "invalid_cursor"


# ---- registries ------------------------------------------------------------------------------


def test_registry_refuses_duplicates_and_bad_names() -> None:
    async def nothing(_uow: UnitOfWork, _rt: Runtime, _p: Principal) -> list[dict[str, Any]]:
        return []

    with pytest.raises(ValueError, match="already registered"):
        privacy.register_exporter("account", nothing)
    for name in ("Orders", "../etc", "manifest", "a b", "", "public/", "x" * 49):
        with pytest.raises(ValueError, match="invalid name"):
            privacy.register_exporter(name, nothing)
    names = [name for name, _, _ in privacy.exporters()]
    assert names[:8] == [
        "account",
        "sessions",
        "access_tokens",
        "interaction_events",
        "privacy_requests",
        "access_log",
        "public/shops",
        "public/creator_profile",
    ]
    # domains register theirs when imported (in import order): planned systems once built
    # (carts, orders) and the domains that hold personal data of their own
    domains = {"seller_application", "warehouse_addresses", "checkouts"}
    assert {"seller_application", "warehouse_addresses"} <= set(names[8:])
    assert set(names[8:]) <= domains | set(privacy.PLANNED_ERASERS)


def test_planned_erasers_are_missing_and_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")
    missing = set(privacy.missing_erasers())
    assert missing <= set(privacy.PLANNED_ERASERS)
    # a planned system that is built registers its exporter with its eraser
    built = set(privacy.PLANNED_ERASERS) - missing
    assert built <= {name for name, _, _ in privacy.exporters()}
    for name in privacy.PLANNED_ERASERS:
        assert f"`{name}`" in docs, f"docs/privacy.md does not document the {name} eraser"
    registered = {name for name, _, _ in privacy.erasers()}
    assert registered >= {"interaction_events", "public/creator_profile", "public/shops"}


@pytest.fixture
def registered_hooks() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        privacy.unregister_exporter(name)
        privacy.unregister_eraser(name)


async def test_a_domain_adds_its_exporter_and_eraser_with_one_call(
    runtime: Runtime, registered_hooks: list[str]
) -> None:
    user = await create_user(runtime, country="DE")
    principal = await principal_of(runtime, user)
    seen: dict[str, Any] = {}

    async def export_wishlist(
        uow: UnitOfWork, _rt: Runtime, who: Principal
    ) -> list[dict[str, Any]]:
        assert uow.home_region == who.region == "intl"
        return [{"product_id": "prd_1", "added_at": datetime(2025, 1, 2, tzinfo=UTC)}]

    async def erase_wishlist(uow: UnitOfWork, _rt: Runtime, who: Principal) -> int:
        # Erasers run before the data key is destroyed.
        seen["key_present"] = await uow.region().get(UserKey, who.id) is not None
        return 1

    privacy.register_exporter("wishlist", export_wishlist, description="Saved products")
    privacy.register_eraser("wishlist", erase_wishlist)
    registered_hooks.append("wishlist")

    async with UnitOfWork(runtime.databases, home_region="intl") as uow:
        request = await privacy.open_request(uow, principal, "export")
        archive, manifest = await privacy.build_archive(uow, runtime, principal, request)
    entry = next(f for f in manifest["files"] if f["name"] == "wishlist.json")
    assert entry["records"] == 1 and entry["description"] == "Saved products"
    assert b"wishlist.json" in archive

    async with UnitOfWork(runtime.databases, home_region="intl") as uow:
        result = await privacy.delete_account(uow, runtime, principal, PASSWORD)
    assert result.erased["wishlist"] == 1 and seen == {"key_present": True}


# ---- deletion and crypto-shredding -----------------------------------------------------------


@dataclass(frozen=True)
class BackupCopy:
    """What a backup taken before the deletion holds for the user."""

    email_ct: bytes
    display_name_ct: bytes
    wrapped_key: bytes


def sqlite_path(runtime: Runtime, region: str) -> Path:
    return Path(runtime.settings.region_url(region).split(":///", 1)[1])


async def take_backup(runtime: Runtime, user_id: str, folder: Path) -> BackupCopy:
    """SQLite: copy the region's database file (sqlite3 backup API, consistent with the WAL)
    and read the user back from the copy. PostgreSQL: the logical copy pg_dump would make."""
    query = (
        "SELECT u.email_ct, u.display_name_ct, k.wrapped_key FROM users u "
        "JOIN user_keys k ON k.user_id = u.id WHERE u.id = ?"
    )
    if services.test_backend() == "sqlite":
        copy = folder / "region-us.backup.db"
        with sqlite3.connect(sqlite_path(runtime, "us")) as live, sqlite3.connect(copy) as dst:
            live.backup(dst)
        with sqlite3.connect(copy) as restored:
            row = restored.execute(query, (user_id,)).fetchone()
        return BackupCopy(bytes(row[0]), bytes(row[1]), bytes(row[2]))
    async with runtime.databases.session(regional("us")) as session:
        user = await session.get(User, user_id)
        key = await session.get(UserKey, user_id)
        assert user is not None and key is not None
        return BackupCopy(user.email_ct, user.display_name_ct, key.wrapped_key)


def raw_sqlite_bytes(runtime: Runtime, region: str) -> bytes:
    path = sqlite_path(runtime, region)
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


async def test_deletion_crypto_shreds_and_a_prior_backup_stays_unreadable(
    privacy_client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    client = privacy_client
    email, name = "shred.me@example.com", "Shredded Person"
    user = await create_user(runtime, email=email, display_name=name, roles=("creator",))
    other = await create_user(runtime, email="keeps.data@example.com")
    await add_events(runtime, user, 3)
    other_events = await add_events(runtime, other, 2)
    shop_id, profile_id = await add_public_rows(runtime, user, "shredded")
    other_shop, other_profile = await add_public_rows(runtime, other, "kept")
    csrf = await api_login(client, email)
    old_cookie = client.cookies.get("sr_session")
    created = await client.post(
        "/api/v1/me/tokens",
        json={"name": "Script", "scopes": ["account:read"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201
    export = await client.post("/api/v1/me/privacy/export", headers={"X-CSRF-Token": csrf})
    assert export.status_code == 201

    backup = await take_backup(runtime, user.id, tmp_path)
    cipher = runtime.cipher("us")
    email_context = f"users.email:{user.id}"
    assert cipher.decrypt_text(cipher.open(backup.wrapped_key), backup.email_ct, email_context)

    response = await client.post(
        "/api/v1/me/privacy/delete", json={"password": PASSWORD}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request"]["kind"] == "delete" and body["request"]["status"] == "completed"
    assert body["erased"]["user_keys"] == 1 and body["erased"]["web_sessions"] == 1
    assert body["erased"]["access_tokens"] == 1 and body["erased"]["interaction_events"] == 3
    assert body["erased"]["privacy_exports"] == 1
    assert body["erased"]["public/shops"] == body["erased"]["public/creator_profile"] == 1
    assert 'sr_session=""' in response.headers["set-cookie"]

    # The live region: no wrapped key, a tombstone row, nothing else of the user.
    async with runtime.databases.session(regional("us")) as session:
        assert await session.get(UserKey, user.id) is None
        row = await session.get(User, user.id)
        assert row is not None and row.status == UserStatus.DELETED.value
        assert row.email_index.startswith("deleted-") and len(row.email_index) == 64
        assert row.email_ct == b"" and row.display_name_ct == b"" and row.password_hash == ""
        assert row.roles == [] and row.country == "ZZ"
        assert not list(
            await session.scalars(select(WebSession).where(WebSession.user_id == user.id))
        )
        events = list(
            await session.scalars(select(InteractionEvent.id).order_by(InteractionEvent.id))
        )
        assert events == sorted(other_events)
        live_keys = {k.user_id: k.wrapped_key for k in await session.scalars(select(UserKey))}
        legal = list(
            await session.scalars(select(PrivacyRequest).where(PrivacyRequest.user_id == user.id))
        )
    assert sorted((r.kind, r.status) for r in legal) == [
        ("delete", "completed"),
        ("export", "completed"),
    ]
    assert set(live_keys) == {other.id}

    # With every key the live database holds, the backup's ciphertexts stay unreadable.
    for wrapped in live_keys.values():
        data_key = cipher.open(wrapped)
        with pytest.raises(DecryptionError):
            cipher.decrypt(data_key, backup.email_ct, email_context)
        with pytest.raises(DecryptionError):
            cipher.decrypt(data_key, backup.display_name_ct, f"users.display_name:{user.id}")
    # The documented caveat (docs/privacy.md): restoring the backup's own user_keys row
    # would bring the data back, which is why backups of that table must expire quickly.
    assert cipher.decrypt_text(cipher.open(backup.wrapped_key), backup.email_ct, email_context)
    if services.test_backend() == "sqlite":
        # secure_delete + the post-erasure WAL checkpoint: not even the key's bytes remain.
        raw = raw_sqlite_bytes(runtime, "us")
        assert backup.wrapped_key not in raw
        assert other.id.encode() in raw  # we are reading the right, flushed file

    # Public rows: profile anonymized, shop kept with its owner marked.
    async with runtime.databases.session(GLOBAL) as session:
        profile = await session.get(CreatorProfile, profile_id)
        shop = await session.get(Shop, shop_id)
        kept_profile = await session.get(CreatorProfile, other_profile)
        kept_shop = await session.get(Shop, other_shop)
    assert profile is not None and shop is not None and kept_profile and kept_shop
    assert profile.display_name == "Deleted user" and profile.bio == ""
    assert profile.handle.startswith("deleted-") and profile.handle != "creator-shredded"
    assert shop.owner_id == f"deleted:{user.id}" and shop.status == "suspended"
    assert shop.name == "Shop shredded"  # a legal record of the business
    assert kept_profile.display_name == "Creator kept" and kept_shop.owner_id == other.id

    # Erasure is in the audit log, with counts only.
    async with runtime.databases.session(CONTROL) as session:
        entries = await privacy.audit_entries_about(session, user.id)
    erasure = [e for e in entries if e.kind == "privacy.erasure"]
    assert len(erasure) == 1 and erasure[0].attributes["erased"]["user_keys"] == 1

    # The old session is dead, logging in fails, and the email can sign up again.
    client.cookies.set("sr_session", old_cookie or "")
    assert (await client.get("/api/v1/me")).status_code == 401
    client.cookies.clear()
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401 and login.json()["code"] == "invalid_credentials"
    again = await client.post(
        "/api/v1/auth/signup",
        json={"email": email, "password": PASSWORD, "display_name": name, "country": "US"},
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] != user.id
    await api_login(client, email)


async def test_deletion_needs_the_current_password_and_is_throttled(
    privacy_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = privacy_client
    user = await create_user(runtime, email="careful@example.com")
    csrf = await api_login(client, "careful@example.com")
    headers = {"X-CSRF-Token": csrf}
    missing_csrf = await client.post("/api/v1/me/privacy/delete", json={"password": PASSWORD})
    assert missing_csrf.status_code == 403 and missing_csrf.json()["code"] == "csrf_failed"
    for _ in range(runtime.settings.login_max_failures):
        wrong = await client.post(
            "/api/v1/me/privacy/delete", json={"password": "not my password!"}, headers=headers
        )
        assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_password"
    throttled = await client.post(
        "/api/v1/me/privacy/delete", json={"password": PASSWORD}, headers=headers
    )
    assert throttled.status_code == 429 and "retry-after" in throttled.headers
    assert (await client.get("/api/v1/me")).status_code == 200
    async with runtime.databases.session(regional("us")) as session:
        assert await session.get(UserKey, user.id) is not None
        assert not list(await session.scalars(select(PrivacyRequest)))


async def test_list_open_requests_shows_clocks_and_overdue(runtime: Runtime) -> None:
    us_user = await create_user(runtime, country="US")
    intl_user = await create_user(runtime, country="FR")
    now = at(2025, 3, 20)
    async with UnitOfWork(runtime.databases, home_region="us") as uow:
        principal = await accounts.load_principal(uow, runtime, us_user, auth="session")
        old = await privacy.open_request(uow, principal, "access", now=at(2025, 1, 2))
        fresh = await privacy.open_request(uow, principal, "access", now=at(2025, 3, 19))
        done = await privacy.open_request(uow, principal, "export", now=at(2025, 1, 2))
        privacy.transition(done, "completed", at(2025, 1, 3))
    async with UnitOfWork(runtime.databases, home_region="intl") as uow:
        principal = await accounts.load_principal(uow, runtime, intl_user, auth="session")
        acked = await privacy.open_request(uow, principal, "access", now=at(2025, 2, 28))
        privacy.transition(acked, "acknowledged", at(2025, 3, 3))

    us = await privacy.list_open_requests(runtime, "us", now=now)
    assert [c.request_id for c in us] == [old.id, fresh.id]  # most urgent first
    assert us[0].law == "ccpa" and us[0].acknowledge_overdue and us[0].complete_overdue
    assert us[0].complete_by == at(2025, 2, 16) and us[0].time_left < timedelta(0)
    assert not us[1].overdue and us[1].user_id == us_user.id
    intl = await privacy.list_open_requests(runtime, "intl", now=now)
    assert [c.request_id for c in intl] == [acked.id]
    assert intl[0].law == "gdpr" and intl[0].complete_by == at(2025, 3, 28)
    assert not intl[0].overdue
    assert (await privacy.list_open_requests(runtime, "intl", now=at(2025, 3, 29)))[0].overdue


async def test_access_decisions_about_filters_and_pages(runtime: Runtime) -> None:
    user = await create_user(runtime)
    other = await create_user(runtime)
    seqs = [await add_access_decision(runtime, user.id, allowed=i % 2 == 0) for i in range(5)]
    await add_access_decision(runtime, other.id)
    async with runtime.databases.transaction(CONTROL) as session:
        await audit.append(
            session,
            kind="privacy.export",
            actor_id=user.id,
            subject_id=user.id,
            region="us",
            attributes={"request_id": "prq_us_x"},
        )
    async with runtime.databases.session(CONTROL) as session:
        first = await privacy.access_decisions_about(session, user.id, limit=2)
        assert first.next_cursor is not None
        second = await privacy.access_decisions_about(
            session, user.id, limit=2, cursor=first.next_cursor
        )
        assert second.next_cursor is not None
        third = await privacy.access_decisions_about(
            session, user.id, limit=2, cursor=second.next_cursor
        )
        everything = await privacy.audit_entries_about(session, user.id)
    pages = [*first.items, *second.items, *third.items]
    assert [e.seq for e in pages] == sorted(seqs, reverse=True) and third.next_cursor is None
    assert [e.allowed for e in pages] == [True, False, True, False, True]
    assert pages[0].actor_roles == ("staff", "support") and pages[0].actor_jurisdiction == "US"
    assert len(everything) == 6  # the privacy.export entry is about the user too
