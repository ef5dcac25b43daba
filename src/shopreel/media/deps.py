"""The media storage of the running app, as a FastAPI dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shopreel.media.storage import MediaStorage, storage_for


async def get_media_storage(request: Request) -> MediaStorage:
    # async on purpose: FastAPI runs plain-def dependencies in a thread pool.
    storage: MediaStorage | None = getattr(request.app.state, "media_storage", None)
    if storage is None:  # an app built without create_app(): use the settings
        storage = storage_for(request.app.state.runtime.settings)
        request.app.state.media_storage = storage
    return storage


MediaStorageDep = Annotated[MediaStorage, Depends(get_media_storage)]
