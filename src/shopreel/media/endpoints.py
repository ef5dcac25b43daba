"""``GET /media/{key}``: stored media, streamed, cached forever.

Keys are content-addressed (:mod:`shopreel.media.keys`), so a response never goes stale: it is
``Cache-Control: public, max-age=31536000, immutable`` with a strong ``ETag`` made from the key.
Every response says ``X-Content-Type-Options: nosniff`` and carries a sandboxing CSP, so even a
file that somehow held markup could not run as a page. Unknown and invalid keys (``..``,
absolute paths, unknown extensions) are the same 404.

Not access-controlled: product images of products that are not live are served too. Their keys
hold the SHA-256 of the processed image and the shop id, so they cannot be guessed or listed;
someone who saw a URL (the seller, a reviewer) can fetch it. See docs/media.md.
"""

from __future__ import annotations

from typing import Annotated, Final

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response, StreamingResponse

from shopreel.media.deps import MediaStorageDep
from shopreel.media.keys import etag_for
from shopreel.media.storage import MediaNotFound, is_valid_key

router = APIRouter(include_in_schema=False)

CACHE_FOREVER: Final = "public, max-age=31536000, immutable"
MEDIA_CSP: Final = "default-src 'none'; sandbox"


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {value.strip().removeprefix("W/") for value in if_none_match.split(",")}
    return etag in candidates or "*" in candidates


@router.api_route("/media/{key:path}", methods=["GET", "HEAD"])
async def serve_media(
    key: str,
    request: Request,
    storage: MediaStorageDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    if not is_valid_key(key):
        raise MediaNotFound("No such media.")
    stored = await anyio.to_thread.run_sync(storage.stat, key)
    if stored is None:
        raise MediaNotFound("No such media.")
    etag = etag_for(key)
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_FOREVER,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": MEDIA_CSP,
    }
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(stored.size)
    if request.method == "HEAD":
        return Response(headers=headers, media_type=stored.content_type)
    chunks = await anyio.to_thread.run_sync(storage.open, key)
    return StreamingResponse(chunks, media_type=stored.content_type, headers=headers)
