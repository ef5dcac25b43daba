"""Validation and normalisation of seller-uploaded product images. Bytes go in, bytes come out.

:func:`process_image` takes the uploaded bytes, which are untrusted. It returns a re-encoded
original without metadata, two WebP thumbnails and the SHA-256 of the original. It does not
touch storage, the database or the network. Storing the result is the caller's job.

The steps are these, and each failure raises :class:`ImageRejected` with a stable ``code``:

1. ``too_large``: the byte count is checked before anything is parsed.
2. ``unsupported_format`` / ``not_an_image``: the format is read from the file's own magic bytes
   and never from its name or declared type. Only JPEG, PNG and WebP are accepted. Other image
   formats that are recognised (GIF, SVG, BMP, TIFF, HEIC/AVIF, ...) are ``unsupported_format``.
   Anything else is ``not_an_image``: random bytes, HTML, PDFs, and truncated or corrupt files.
   Pillow is only allowed the one decoder that matches the magic bytes, so its other plug-ins
   are never tried on hostile input.
3. ``decompression_bomb``: ``Image.open`` reads only the header. The declared
   ``width * height`` is checked against ``max_pixels`` before any pixel is decoded. Pillow's
   own ``DecompressionBombWarning`` is raised as an error, and both it and
   ``DecompressionBombError`` become ``decompression_bomb``.
4. ``animated``: animated PNG (APNG) and animated WebP are refused rather than cut down to one
   frame. The first frame of an APNG need not be a useful product photo. JPEG files that carry
   extra MPF pictures (some cameras and phones write these) are not animations: they are
   accepted, and only the primary picture is used.
5. The pixels are decoded. The EXIF orientation is applied, so the picture stays upright once
   the EXIF is gone. An embedded ICC profile is converted to sRGB. Then the image is re-encoded
   in its own format, with no EXIF, XMP, ICC profile, text chunks or comments.

Memory: decoding needs about ``4 * max_pixels`` bytes, plus one working copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from PIL import Image, ImageCms, ImageOps

from shopreel.errors import ShopReelError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "THUMBNAIL_MEDIA_TYPE",
    "THUMBNAIL_SIZES",
    "ImageFormat",
    "ImageRejected",
    "ProcessedImage",
    "RejectionCode",
    "process_image",
]

ImageFormat = Literal["jpeg", "png", "webp"]
RejectionCode = Literal[
    "too_large", "not_an_image", "unsupported_format", "decompression_bomb", "animated"
]

DEFAULT_MAX_BYTES: Final = 10 * 2**20
DEFAULT_MAX_PIXELS: Final = 40_000_000

THUMBNAIL_SIZES: Final[dict[str, int]] = {"small": 160, "medium": 480}
"""Thumbnail name -> the longest side in pixels. Images are never enlarged."""
THUMBNAIL_MEDIA_TYPE: Final = "image/webp"
THUMBNAIL_QUALITY: Final = 80
JPEG_QUALITY: Final = 90
WEBP_QUALITY: Final = 90

_ACCEPTED: Final[dict[str, ImageFormat]] = {"jpeg": "jpeg", "png": "png", "webp": "webp"}
# The Pillow decoder allowed for each format the magic bytes can show.
_PILLOW_FORMAT: Final[dict[ImageFormat, str]] = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_DECODED_AS: Final[dict[str, ImageFormat]] = {
    "JPEG": "jpeg",
    "MPO": "jpeg",  # a JPEG with extra MPF pictures. Only the primary picture is used.
    "PNG": "png",
    "WEBP": "webp",
}

_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
     b"avif", b"avis"}
)  # fmt: skip
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_SVG_RE = re.compile(
    rb"\s*(?:<\?xml[^>]*>\s*)?(?:(?:<!--.*?-->|<!doctype[^>]*>)\s*)*<svg[\s>/:]", re.DOTALL
)


class ImageRejected(ShopReelError):
    """The upload is not an acceptable product image. ``code`` says why and ``reason`` explains.

    This is a :class:`ShopReelError`, so an endpoint that lets it propagate answers with
    ``application/problem+json``. The status is 413 for ``too_large`` and 422 otherwise.
    """

    status = 422
    code = "image_rejected"
    title = "Image rejected"

    def __init__(self, code: RejectionCode, reason: str) -> None:
        if code not in get_args(RejectionCode):
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(reason, code=code, status=413 if code == "too_large" else 422)
        self.reason = reason

    def __repr__(self) -> str:
        return f"ImageRejected({self.code!r}, {self.reason!r})"


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    format: ImageFormat
    """The format found by decoding. ``original`` is encoded in this same format."""
    width: int
    """Width of ``original``, after the EXIF orientation has been applied."""
    height: int
    original: bytes = field(repr=False)
    """The re-encoded image, with no metadata."""
    thumbnails: dict[str, bytes] = field(repr=False)
    """WebP thumbnails, keyed by the names in ``THUMBNAIL_SIZES``."""
    sha256: str
    """Lower-case hex SHA-256 of ``original``. Suits content-addressed storage keys."""

    @property
    def media_type(self) -> str:
        return f"image/{self.format}"


def process_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ProcessedImage:
    """Validate an uploaded image and return its clean re-encoding and thumbnails.

    Raises :class:`ImageRejected` for every kind of bad input. No other exception comes from
    the input's content.
    """
    if len(data) > max_bytes:
        raise ImageRejected(
            "too_large", f"The file is {len(data)} bytes; the limit is {max_bytes} bytes."
        )
    if not data:
        raise ImageRejected("not_an_image", "The file is empty.")
    sniffed = _sniff(bytes(data[:4096]))
    if sniffed is None:
        raise ImageRejected("not_an_image", "The file is not a JPEG, PNG or WebP image.")
    fmt = _ACCEPTED.get(sniffed)
    if fmt is None:
        raise ImageRejected(
            "unsupported_format",
            f"{sniffed} images are not accepted. Upload a JPEG, PNG or WebP image.",
        )

    # Warning filters are process-wide. Under threads, another thread's catch_warnings() can
    # briefly undo this one. The explicit max_pixels check below does not depend on it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # Pillow warns about the broken metadata it skips ("Corrupt EXIF data"). That metadata
        # is dropped anyway, so the warnings are noise for callers.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        # The image reads from an in-memory buffer, so there is no file to close. Not using
        # `with` also lets the decoded image be used directly, without a full-size copy.
        image = _open(data, fmt)
        width, height = image.size
        if width < 1 or height < 1:
            raise ImageRejected("not_an_image", "The image has no pixels.")
        if width * height > max_pixels:
            raise ImageRejected(
                "decompression_bomb",
                f"The image is {width}x{height} pixels; at most {max_pixels} pixels are accepted.",
            )
        if fmt != "jpeg" and getattr(image, "n_frames", 1) > 1:
            raise ImageRejected(
                "animated", "Animated images are not accepted. Upload a still image."
            )
        lossless = fmt == "webp" and _webp_is_lossless(data)
        clean = _decode(image)

    original = _encode_original(clean, fmt, lossless=lossless)
    thumbnails = _thumbnails(clean)
    return ProcessedImage(
        format=fmt,
        width=clean.width,
        height=clean.height,
        original=original,
        thumbnails=thumbnails,
        sha256=hashlib.sha256(original).hexdigest(),
    )


def _sniff(head: bytes) -> str | None:
    """Name the format from the magic bytes. Returns one of "jpeg", "png" or "webp", the display
    name of a recognised format we do not accept, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"\x00\x00\x01\x00" and head[4:6] != b"\x00\x00":
        return "ICO"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIC/AVIF"
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "JPEG XL"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or head[:4] == b"\xff\x4f\xff\x51":
        return "JPEG 2000"
    if head[:4] == b"8BPS":
        return "PSD"
    text = head.removeprefix(b"\xef\xbb\xbf").lower()
    if _SVG_RE.match(text) or (text.lstrip().startswith(b"<?xml") and b"<svg" in text):
        return "SVG"
    return None


def _open(data: bytes, fmt: ImageFormat) -> Image.Image:
    """Read the header only. No pixel data is decoded here."""
    try:
        return Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            "decompression_bomb", "The image declares more pixels than can be decoded safely."
        ) from exc
    except Exception as exc:  # hostile input can make a decoder raise almost anything
        raise ImageRejected(
            "not_an_image", f"The file is not a readable {fmt.upper()} image."
        ) from exc


def _decode(image: Image.Image) -> Image.Image:
    """Decode the pixels and return an upright sRGB image with an empty ``info``."""
    if image.format not in _DECODED_AS:
        raise ImageRejected("not_an_image", "The file is not a JPEG, PNG or WebP image.")
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            "decompression_bomb", "The image declares more pixels than can be decoded safely."
        ) from exc
    except Exception as exc:
        raise ImageRejected("not_an_image", "The image data is truncated or corrupt.") from exc
    with contextlib.suppress(Exception):  # broken EXIF: keep the pixels as they are stored
        ImageOps.exif_transpose(image, in_place=True)
    icc_profile = image.info.get("icc_profile")
    clean = _normalise_mode(_to_srgb(image, icc_profile))
    clean.info = {}  # drop EXIF, XMP, ICC, text chunks, comments and everything else
    return clean


def _to_srgb(image: Image.Image, icc_profile: object) -> Image.Image:
    """Convert pixels tagged with an ICC profile into sRGB, so they look right once the profile is
    dropped. A profile that cannot be used is ignored, and the pixels are kept as stored."""
    if not isinstance(icc_profile, bytes) or not icc_profile:
        return image
    if image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return image
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image,
            source,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode=output_mode,
        )
    except Exception:  # a malformed or unusable profile
        return image
    return converted if converted is not None else image


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Return the image in a mode that every output format handles: 1, L, LA, P, RGB or RGBA."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit greyscale PNG
        return image.convert("I").point(lambda value: value / 257).convert("L")
    if mode == "CMYK":
        return image.convert("RGB")
    if mode in ("P", "L", "RGB", "1") and "transparency" in image.info:
        # Transparency is kept in info (the tRNS chunk), and info is about to be dropped.
        return image.convert("RGBA" if mode in ("P", "RGB") else "LA")
    if mode == "PA":
        return image.convert("RGBA")
    if mode in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return image
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _webp_is_lossless(data: bytes) -> bool:
    """Whether the WebP bitstream is lossless (VP8L), found by walking the RIFF chunks."""
    offset = 12
    while offset + 8 <= len(data):
        chunk = data[offset : offset + 4]
        if chunk == b"VP8L":
            return True
        if chunk == b"VP8 ":
            return False
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + size + (size & 1)
    return False


def _encode_original(image: Image.Image, fmt: ImageFormat, *, lossless: bool) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "png":
        image.save(out, "PNG", compress_level=6)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if image.has_transparency_data else "RGB")
        if lossless:
            image.save(out, "WEBP", lossless=True, quality=80, method=4)
        else:
            image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def _thumbnails(image: Image.Image) -> dict[str, bytes]:
    has_alpha = image.mode in ("LA", "RGBA") or (image.mode == "P" and image.has_transparency_data)
    current = image.convert("RGBA" if has_alpha else "RGB")
    thumbnails: dict[str, bytes] = {}
    # Largest first. Each smaller size is made from the one before, which is much cheaper than
    # going back to a full-size original.
    for name, size in sorted(THUMBNAIL_SIZES.items(), key=lambda item: -item[1]):
        current = current.copy()
        current.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        out = io.BytesIO()
        current.save(out, "WEBP", quality=THUMBNAIL_QUALITY, method=4)
        thumbnails[name] = out.getvalue()
    return {name: thumbnails[name] for name in THUMBNAIL_SIZES}
