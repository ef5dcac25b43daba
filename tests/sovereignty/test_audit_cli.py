"""``shopreel audit verify | publish | show``."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shopreel.config import Settings, reset_settings_cache
from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import audit
from shopreel.sovereignty.cli import audit_app
from shopreel.sovereignty.signing import TreeHeadSigner
from tests.sovereignty.test_audit import append_entries, publish, signer_for
from tests.sovereignty.test_audit_tamper import Attacker, attacker  # noqa: F401 - fixture

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point ``get_settings()`` (which the CLI uses) at this test run's databases and keys."""
    monkeypatch.setenv("SHOPREEL_ENV", "test")
    monkeypatch.setenv("SHOPREEL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHOPREEL_REGIONS", settings.regions)
    monkeypatch.setenv("SHOPREEL_SECRET_KEY", settings.secret_key)
    for name, value in (("GLOBAL", settings.db_global), ("CONTROL", settings.db_control)):
        if value:
            monkeypatch.setenv(f"SHOPREEL_DB_{name}", value)
        else:
            monkeypatch.delenv(f"SHOPREEL_DB_{name}", raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


async def invoke(*args: str) -> Result:
    """Run the CLI in a worker thread: it starts its own event loop (asyncio.run)."""
    return await asyncio.to_thread(
        lambda: runner.invoke(audit_app, list(args), env={"COLUMNS": "200"})
    )


async def test_verify_an_intact_log(runtime: Runtime, cli_env: None) -> None:
    signer = signer_for(runtime.settings)
    await append_entries(runtime, 30)
    await publish(runtime, signer)
    await append_entries(runtime, 2)
    result = await invoke("verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "audit log intact: 32 entries, 1 signed tree heads, latest signed size 30; "
        "2 newer entries not yet in a signed tree head"
    )


async def test_verify_an_empty_log(runtime: Runtime, cli_env: None) -> None:
    result = await invoke("verify")
    assert result.exit_code == 0, result.output
    assert "intact: 0 entries" in result.stdout


async def test_verify_names_the_first_tampered_seq(
    runtime: Runtime,
    cli_env: None,
    attacker: Attacker,  # noqa: F811 - the fixture
) -> None:
    signer = signer_for(runtime.settings)
    await append_entries(runtime, 40)
    await publish(runtime, signer)
    await attacker.drop_triggers()
    await attacker.rewrite(31, fix_hash=False)
    await attacker.sql("DELETE FROM audit_entries WHERE seq = 35")
    result = await invoke("verify")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("audit log TAMPERED: first tampered seq 31: seq 31: leaf_hash")
    assert "more problems" in lines[0]

    result = await invoke("verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 31
    assert report["entries"] == 39 and report["tree_heads"] == 1
    assert any("seq 35 missing" in p for p in report["problems"])


async def test_verify_with_known_heads_catches_a_hidden_truncation(
    runtime: Runtime,
    cli_env: None,
    attacker: Attacker,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    signer = signer_for(runtime.settings)
    await append_entries(runtime, 10)
    first = await publish(runtime, signer)
    await append_entries(runtime, 10)
    second = await publish(runtime, signer)
    witness = tmp_path / "heads.json"
    witness.write_text(json.dumps({"tree_heads": [second.to_json(), first.to_json()]}))
    await attacker.drop_triggers()
    await attacker.sql("DELETE FROM audit_entries WHERE seq >= 15")
    await attacker.sql("DELETE FROM signed_tree_heads WHERE tree_size = 20")
    assert (await invoke("verify")).exit_code == 0  # the database alone cannot tell
    result = await invoke("verify", "--known-heads", str(witness))
    assert result.exit_code == 1
    assert "first tampered seq 15" in result.stdout
    witness.write_text(json.dumps(second.to_json()))  # a single head works too
    assert (await invoke("verify", "--known-heads", str(witness))).exit_code == 1
    witness.write_text("[1, 2]")
    result = await invoke("verify", "--known-heads", str(witness))
    assert result.exit_code == 1 and "not a signed tree head" in result.stderr


async def test_verify_with_a_pinned_public_key(runtime: Runtime, cli_env: None) -> None:
    signer = signer_for(runtime.settings)
    await append_entries(runtime, 3)
    await publish(runtime, signer)
    own = base64.b64encode(signer.public_key_raw).decode()
    assert (await invoke("verify", "--public-key", own)).exit_code == 0
    other = base64.b64encode(TreeHeadSigner.from_seed(b"\x03" * 32).public_key_raw).decode()
    result = await invoke("verify", "--public-key", other)
    assert result.exit_code == 1
    assert "no entry implicated" in result.stdout and "not the verifying key" in result.stdout
    result = await invoke("verify", "--public-key", "not base64!")
    assert result.exit_code == 1 and "--public-key" in result.stderr


async def test_publish(runtime: Runtime, cli_env: None) -> None:
    signer = signer_for(runtime.settings)
    await append_entries(runtime, 6)
    result = await invoke("publish")
    assert result.exit_code == 0, result.output
    async with runtime.databases.session(CONTROL) as session:
        latest = await audit.latest_tree_head(session)
    assert latest is not None and latest.tree_size == 6
    assert result.stdout.strip() == (
        f"signed tree head: size 6, root {bytes(latest.root_hash).hex()}, key {signer.key_id}"
    )
    again = await invoke("publish")
    assert again.exit_code == 0 and again.stdout == result.stdout
    assert (await invoke("verify")).exit_code == 0


async def test_publish_refuses_a_rewritten_log(
    runtime: Runtime,
    cli_env: None,
    attacker: Attacker,  # noqa: F811 - the fixture
) -> None:
    await append_entries(runtime, 5)
    await publish(runtime, signer_for(runtime.settings))
    await append_entries(runtime, 1)
    await attacker.drop_triggers()
    await attacker.rewrite(2, fix_hash=True)
    result = await invoke("publish")
    assert result.exit_code == 1
    assert "refusing to sign a rewritten history" in result.stderr
    async with runtime.databases.session(CONTROL) as session:
        latest = await audit.latest_tree_head(session)
    assert latest is not None and latest.tree_size == 5


async def test_show(runtime: Runtime, cli_env: None) -> None:
    await append_entries(runtime, 25)
    async with runtime.databases.transaction(CONTROL) as session:
        await audit.append(
            session,
            kind="policy.change",
            actor_id="usr_us_9",
            subject_id=None,
            region=None,
            attributes={"markup": "[bold red]not markup[/]"},
        )
    result = await invoke("show", "--last", "3")
    assert result.exit_code == 0, result.output
    assert "last 3 entries" in result.stdout
    assert "policy.change" in result.stdout and "[bold red]not markup[/]" in result.stdout
    seqs = [line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line]
    assert [s for s in seqs if s] == ["23", "24", "25"]
    default = await invoke("show")
    assert default.exit_code == 0 and "last 20 entries" in default.stdout
    assert (await invoke("show", "--last", "0")).exit_code == 2
