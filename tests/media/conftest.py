"""Every media test gets its own storage directory, attached to the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from shopreel.media.storage import LocalMediaStorage
from tests.media.helpers import Clients


@pytest.fixture
def media(app: FastAPI, tmp_path: Path) -> LocalMediaStorage:
    storage = LocalMediaStorage(tmp_path / "media")
    app.state.media_storage = storage
    return storage


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Clients]:
    opened = Clients(app)
    try:
        yield opened
    finally:
        await opened.close()
