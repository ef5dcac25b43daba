"""Plane isolation: rows and queries never cross planes or regions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from shopreel.accounts.models import User, UserKey
from shopreel.catalog.models import Shop
from shopreel.planes import (
    CONTROL,
    GLOBAL,
    CrossRegionWrite,
    PlaneViolation,
    regional,
)
from shopreel.runtime import Runtime
from shopreel.sovereignty.models import AuditEntry
from shopreel.uow import UnitOfWork
from tests.fixtures.factories import create_user


def _shop() -> Shop:
    return Shop(id="shop_x", handle="x", name="X", owner_id="usr_us_x", country="US")


def _key(region: str | None = None) -> UserKey:
    key = UserKey(user_id="usr_us_1", wrapped_key=b"\x01")
    if region is not None:
        key.region = region
    return key


async def test_regional_model_refused_by_global_session(runtime: Runtime) -> None:
    async with runtime.databases.session(GLOBAL) as session:
        session.add(_key("us"))
        with pytest.raises(PlaneViolation, match="regional plane"):
            await session.flush()


async def test_global_model_refused_by_regional_session(runtime: Runtime) -> None:
    async with runtime.databases.session(regional("us")) as session:
        session.add(_shop())
        with pytest.raises(PlaneViolation, match="global plane"):
            await session.flush()


async def test_control_model_refused_by_global_session(runtime: Runtime) -> None:
    async with runtime.databases.session(GLOBAL) as session:
        session.add(AuditEntry(seq=0, kind="x", leaf_data=b"x", leaf_hash=b"x", attributes={}))
        with pytest.raises(PlaneViolation, match="control plane"):
            await session.flush()


async def test_cross_region_row_refused(runtime: Runtime) -> None:
    async with runtime.databases.session(regional("intl")) as session:
        session.add(_key("us"))
        with pytest.raises(CrossRegionWrite):
            await session.flush()
    async with runtime.databases.session(regional("us")) as session:
        assert await session.scalar(select(func.count()).select_from(UserKey)) == 0


async def test_moving_a_row_to_another_region_refused(runtime: Runtime) -> None:
    async with runtime.databases.transaction(regional("us")) as session:
        session.add(_key())
    async with runtime.databases.session(regional("us")) as session:
        key = await session.get(UserKey, "usr_us_1")
        assert key is not None and key.region == "us"
        key.region = "intl"
        with pytest.raises(CrossRegionWrite):
            await session.flush()


async def test_region_defaults_to_the_session_region(runtime: Runtime) -> None:
    async with runtime.databases.transaction(regional("intl")) as session:
        key = _key()
        session.add(key)
    assert key.region == "intl"


async def test_bulk_insert_of_foreign_region_refused(runtime: Runtime) -> None:
    async with runtime.databases.session(regional("us")) as session:
        with pytest.raises(CrossRegionWrite):
            await session.execute(
                insert(UserKey),
                [
                    {
                        "user_id": "a",
                        "wrapped_key": b"1",
                        "region": "intl",
                        "created_at": datetime.now(UTC),
                    }
                ],
            )


async def test_query_of_another_planes_model_refused(runtime: Runtime) -> None:
    async with runtime.databases.session(GLOBAL) as session:
        with pytest.raises(PlaneViolation, match="refusing to query"):
            await session.execute(select(User))
    async with runtime.databases.session(CONTROL) as session:
        with pytest.raises(PlaneViolation):
            await session.execute(select(Shop))


async def test_database_refuses_foreign_region_even_with_raw_sql(runtime: Runtime) -> None:
    """Defense in depth: the regional migrations add CHECK (region = '<region>')."""
    async with runtime.databases.session(regional("us")) as session:
        with pytest.raises(IntegrityError):
            await session.execute(
                text(
                    "INSERT INTO user_keys (user_id, wrapped_key, created_at, region) "
                    "VALUES ('raw', :k, :t, 'intl')"
                ),
                {"k": b"1", "t": datetime.now(UTC)},
            )
        await session.rollback()


async def test_regional_tables_do_not_exist_in_global_plane(runtime: Runtime) -> None:
    async with runtime.databases.session(GLOBAL) as session:
        with pytest.raises(Exception, match="users"):
            await session.execute(text("SELECT count(*) FROM users"))


async def test_unit_of_work_bound_to_one_region(runtime: Runtime) -> None:
    uow = UnitOfWork(runtime.databases, home_region="us")
    uow.region()  # the home region opens
    with pytest.raises(PlaneViolation, match="bound to region 'us'"):
        uow.region("intl")
    with pytest.raises(PlaneViolation):
        uow.bind_region("intl")
    await uow.close()


async def test_unknown_region_refused(runtime: Runtime) -> None:
    with pytest.raises(PlaneViolation):
        UnitOfWork(runtime.databases, home_region="mars")
    with pytest.raises(PlaneViolation):
        runtime.databases.engine(regional("eu"))


async def test_user_lands_in_home_region_only(runtime: Runtime) -> None:
    us_user = await create_user(runtime, country="US")
    sg_user = await create_user(runtime, country="SG")
    assert us_user.region == "us" and us_user.id.startswith("usr_us_")
    assert sg_user.region == "intl" and sg_user.id.startswith("usr_intl_")
    async with runtime.databases.session(regional("us")) as session:
        ids = set(await session.scalars(select(User.id)))
    assert ids == {us_user.id}
    async with runtime.databases.session(regional("intl")) as session:
        ids = set(await session.scalars(select(User.id)))
    assert ids == {sg_user.id}
