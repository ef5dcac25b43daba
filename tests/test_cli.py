"""The shopreel CLI: help everywhere, one-line errors with non-zero exits."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from shopreel.accounts.models import User
from shopreel.cli import app
from shopreel.config import Settings, reset_settings_cache
from shopreel.planes import regional
from shopreel.runtime import Runtime
from tests.fixtures.cli_env import use_settings

runner = CliRunner()


async def invoke(args: list[str]) -> Result:
    """Run the CLI in a thread: it calls asyncio.run, which needs a thread without a loop."""
    return await asyncio.to_thread(runner.invoke, app, args)


@pytest.fixture(autouse=True)
def _fresh_settings_cache():  # type: ignore[no-untyped-def]
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.mark.parametrize(
    "args",
    [[], ["db"], ["demo", "seed"], ["users"], ["users", "create"], ["serve"], ["db", "upgrade"]],
)
def test_help_everywhere(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


async def test_users_create_places_staff_in_region(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, runtime: Runtime
) -> None:
    use_settings(monkeypatch, settings)
    result = await invoke(
        [
            "users",
            "create",
            "--email",
            "officer@example.com",
            "--password",
            "a long staff passphrase",
            "--role",
            "staff",
            "--country",
            "US",
            "--jurisdiction",
            "US",
            "--staff-role",
            "trust_officer",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "in region us" in result.output
    async with runtime.databases.session(regional("us")) as session:
        user = (await session.scalars(select(User))).one()
    assert user.roles == ["staff"] and user.jurisdiction == "US"
    assert user.staff_roles == ["trust_officer"]


async def test_users_create_bad_input_one_line_error(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, runtime: Runtime
) -> None:
    use_settings(monkeypatch, settings)
    result = await invoke(
        ["users", "create", "--email", "x@example.com", "--password", "short", "--country", "US"],
    )
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:")
    assert len(result.output.strip().splitlines()) == 1
    staff = await invoke(
        [
            "users",
            "create",
            "--email",
            "s@example.com",
            "--password",
            "a long passphrase x",
            "--country",
            "US",
            "--role",
            "staff",
        ],
    )
    assert staff.exit_code == 1 and "jurisdiction" in staff.output
    async with runtime.databases.session(regional("us")) as session:
        assert (await session.scalars(select(User))).all() == []


def test_invalid_configuration_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPREEL_REGIONS", "us,US!")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "invalid configuration" in result.output
