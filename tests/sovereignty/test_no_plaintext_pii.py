"""No plaintext personal data on disk.

Users with distinctive (also non-ASCII) emails and names sign up, log in, create tokens and
export their data. Then, on SQLite, the raw bytes of every database file and write-ahead log
are searched for those emails and names in UTF-8, UTF-16 (both byte orders) and JSON-escaped
form; on PostgreSQL every text, JSON and bytea column of every table is searched instead.
Finally: another region's key cannot open this region's wrapped data keys."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from shopreel.accounts.models import User, UserKey
from shopreel.planes import Plane, regional
from shopreel.runtime import Runtime
from shopreel.sovereignty.crypto import DecryptionError
from shopreel.sovereignty.keys import KeyUnwrapError
from tests.fixtures import services
from tests.fixtures.factories import PASSWORD, api_login

PEOPLE = (
    ("Xavier.Plaintext-9042@Example.com", "Xavierine Plaintextovich", "US"),
    ("zoë.quixotic-7731@exämple.org", "Zéphyrine Ørnulfsdóttir", "DE"),
    ("ωμέγα.κωνσταντίνου@παράδειγμα.gr", "Ωμέγα Κωνσταντίνου", "GR"),
    ("李小龍.測試@例子.中国", "王秀英測試者", "CN"),
)


def needles() -> dict[bytes, str]:
    """Every byte pattern that would betray one of the emails or names."""
    words: set[str] = set()
    for email, name, _ in PEOPLE:
        local = email.split("@", 1)[0]
        words |= {email, email.lower(), local, local.lower(), name}
        words |= {part for part in name.split() if len(part) >= 4}
    found: dict[bytes, str] = {}
    for word in words:
        for variant in {word, word.casefold(), word.upper()}:
            escaped = json.dumps(variant)[1:-1]
            for pattern in (
                variant.encode("utf-8"),
                variant.encode("utf-16-le"),
                variant.encode("utf-16-be"),
                escaped.encode("ascii"),
            ):
                found[pattern] = word
    return found


def leaks(blob: bytes, patterns: dict[bytes, str]) -> list[str]:
    lowered = blob.lower()  # ASCII case-insensitive as well
    return sorted(
        {word for pattern, word in patterns.items() if pattern in blob or pattern in lowered}
    )


def test_the_search_finds_what_it_looks_for() -> None:
    patterns = needles()
    for email, name, _ in PEOPLE:
        for blob in (
            f"xx{name}yy".encode("utf-16-le"),
            json.dumps({"n": name}).encode(),
            b"\x00" + email.upper().encode("utf-8"),
        ):
            assert leaks(blob, patterns), blob
    assert leaks(b"\x01\x02 usr_us_01abc nothing personal", patterns) == []


async def populate(app: FastAPI, client: httpx.AsyncClient, runtime: Runtime) -> list[str]:
    ids = []
    for email, name, country in PEOPLE:
        signed_up = await client.post(
            "/api/v1/auth/signup",
            json={"email": email, "password": PASSWORD, "display_name": name, "country": country},
        )
        assert signed_up.status_code == 201, signed_up.text
        ids.append(signed_up.json()["id"])
        client.cookies.clear()
        csrf = await api_login(client, email)
        me = await client.get("/api/v1/me")
        assert me.json()["display_name"] == name  # the data is really there, encrypted
        token = await client.post(
            "/api/v1/me/tokens",
            json={"name": "Reader", "scopes": ["account:read"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert token.status_code == 201
        export = await client.post("/api/v1/me/privacy/export", headers={"X-CSRF-Token": csrf})
        assert export.status_code == 201
        archive = await client.get(export.json()["download_url"])
        assert archive.status_code == 200
        with zipfile.ZipFile(io.BytesIO(archive.content)) as unpacked:
            (account,) = json.loads(unpacked.read("account.json"))
        assert account["display_name"] == name
    return ids


def sqlite_file(runtime: Runtime, plane: Plane) -> Path:
    return Path(runtime.databases.url(plane).split(":///", 1)[1])


async def test_no_plaintext_pii_at_rest(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ids = await populate(app, client, runtime)
    if services.test_backend() == "postgres":
        await check_postgres_columns(runtime, ids)
    else:
        await check_sqlite_files(runtime, ids)


async def check_sqlite_files(runtime: Runtime, ids: list[str]) -> None:
    """Raw bytes of every database file and write-ahead log (before and after a checkpoint)."""
    patterns = needles()
    files = [sqlite_file(runtime, plane) for plane in runtime.databases.planes()]
    for path in files:  # the write-ahead logs as they are, before anything is checkpointed
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            assert leaks(wal.read_bytes(), patterns) == [], wal

    await runtime.databases.dispose()
    for path in files:
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    regional_bytes = b""
    for path in files:
        blob = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            blob += wal.read_bytes()
        assert leaks(blob, patterns) == [], path
        if path.name.startswith("region-"):
            regional_bytes += blob
    for user_id in ids:  # positive control: we read the files the users were written to
        assert user_id.encode() in regional_bytes


async def check_postgres_columns(runtime: Runtime, ids: list[str]) -> None:
    """Every text, varchar, JSON and bytea column of every table of every plane."""
    patterns = needles()
    seen_ids: set[str] = set()
    for plane in runtime.databases.planes():
        async with runtime.databases.session(plane) as session:
            columns = (
                await session.execute(
                    text(
                        "SELECT table_name, column_name, data_type "
                        "FROM information_schema.columns WHERE table_schema = current_schema() "
                        "AND data_type IN ('text', 'character varying', 'character', 'bytea', "
                        "'json', 'jsonb') ORDER BY table_name, ordinal_position"
                    )
                )
            ).all()
            assert columns, plane.name
            for table, column, data_type in columns:
                expression = f'"{column}"' if data_type == "bytea" else f'"{column}"::text'
                query = f'SELECT {expression} FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608
                for value in await session.scalars(text(query)):
                    if isinstance(value, bytes | memoryview):
                        blob = bytes(value)
                    else:
                        blob = str(value).encode("utf-8")
                        seen_ids.update(i for i in ids if i == value)
                    assert leaks(blob, patterns) == [], f"{plane.name}: {table}.{column}"
    assert seen_ids == set(ids)  # positive control: the users' rows were searched


async def test_another_regions_key_cannot_open_this_regions_data(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ids = await populate(app, client, runtime)
    us_id = next(i for i in ids if i.startswith("usr_us_"))
    async with runtime.databases.session(regional("us")) as session:
        key = await session.get(UserKey, us_id)
        user = await session.get(User, us_id)
        assert key is not None and user is not None
        assert len(list(await session.scalars(select(UserKey)))) == 1
    with pytest.raises(KeyUnwrapError):
        runtime.cipher("intl").open(key.wrapped_key)
    # Nor can any intl user's data key decrypt the US ciphertext.
    async with runtime.databases.session(regional("intl")) as session:
        intl_keys = list(await session.scalars(select(UserKey)))
    assert len(intl_keys) == 3
    for intl_key in intl_keys:
        data_key = runtime.cipher("intl").open(intl_key.wrapped_key)
        with pytest.raises(DecryptionError):
            runtime.cipher("intl").decrypt(data_key, user.email_ct, f"users.email:{us_id}")
    data_key = runtime.cipher("us").open(key.wrapped_key)
    email = runtime.cipher("us").decrypt_text(data_key, user.email_ct, f"users.email:{us_id}")
    assert email == PEOPLE[0][0].lower()
