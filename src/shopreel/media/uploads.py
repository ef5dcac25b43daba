"""Reading an uploaded file from a request, with a size limit enforced as early as possible.

Two body shapes are accepted: ``multipart/form-data`` with the file in one field (what browser
forms send), or the raw bytes with a declared type such as ``image/png`` (what scripts find
easiest). The declared type only chooses the shape; what the bytes are is decided later, by
decoding them.

Where the limit bites:

- :func:`upload_guard` is the first dependency of every upload route. A declared
  ``Content-Length`` above the limit (plus a little room for multipart framing) is refused
  with 413 before the session, the CSRF check or the form parser read a byte. A multipart
  body without a ``Content-Length`` is refused with 411: browsers always send one, and
  parsing an unbounded form just to find it too big is what this guard exists to avoid.
- A raw body is read in chunks and reading stops at ``limit + 1`` bytes (chunked uploads are
  fine).
- The file part of a form is read with ``read(limit + 1)``, so a body that fits the framing
  room but whose file does not is still refused.

The app-wide middleware limit (``SHOPREEL_MAX_UPLOAD_BYTES``) stays in force for every path
under the upload prefixes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import Request
from starlette.datastructures import UploadFile

from shopreel.errors import PayloadTooLarge, ShopReelError, ValidationFailed

MULTIPART_ROOM: Final = 64 * 1024
"""Bytes allowed on top of the file limit for multipart boundaries, headers and small fields."""


class UploadTooLarge(PayloadTooLarge):
    code = "too_large"  # the same code as an image rejected by its byte count


class LengthRequired(ShopReelError):
    status = 411
    code = "length_required"
    title = "Length required"


class UnsupportedMediaType(ShopReelError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class MissingFile(ValidationFailed):
    code = "missing_file"


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes = field(repr=False)
    fields: dict[str, str]
    """Text fields of a multipart form (empty for a raw body)."""
    filename: str | None = None


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"The file is larger than the limit of {limit} bytes.")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def upload_guard(limit: int) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency refusing, from the headers alone, bodies that cannot fit ``limit``."""

    async def dependency(request: Request) -> None:
        declared = request.headers.get("content-length")
        multipart = _media_type(request) == "multipart/form-data"
        if declared is None or not declared.isdigit():
            if multipart:
                raise LengthRequired("Send the upload with a Content-Length header.")
            return
        if int(declared) > limit + (MULTIPART_ROOM if multipart else 0):
            raise _too_large(limit)

    return dependency


async def read_upload(
    request: Request,
    *,
    limit: int,
    raw_types: tuple[str, ...],
    field_name: str = "file",
) -> Upload:
    """The uploaded bytes and the form's text fields. ``raw_types`` are the media types (or
    prefixes ending in "/", such as ``"image/"``) accepted as a raw body."""
    media_type = _media_type(request)
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=16)
        try:
            part = form.get(field_name)
            if not isinstance(part, UploadFile):
                raise MissingFile(f"Choose a file to upload (form field '{field_name}').")
            data = await part.read(limit + 1)
            if len(data) > limit:
                raise _too_large(limit)
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            return Upload(data=data, fields=fields, filename=part.filename)
        finally:
            await form.close()
    if not any(
        media_type.startswith(accepted) if accepted.endswith("/") else media_type == accepted
        for accepted in raw_types
    ):
        raise UnsupportedMediaType(
            "Send multipart/form-data with a 'file' field, or the raw file with its type "
            f"({', '.join(raw_types)})."
        )
    buffer = bytearray()
    async for chunk in request.stream():
        buffer += chunk
        if len(buffer) > limit:
            raise _too_large(limit)
    return Upload(data=bytes(buffer), fields={})
