"""Product image processing. Every image here is generated with Pillow inside the test, and no
image is downloaded. The tests cover format detection by content, metadata stripping with
orientation applied, the rejections (including a crafted decompression bomb), and the
thumbnails."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import time
import zlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms, ImageFile, features
from PIL.PngImagePlugin import PngInfo

from shopreel.catalog.images import (
    THUMBNAIL_SIZES,
    ImageRejected,
    ProcessedImage,
    process_image,
)
from shopreel.errors import ShopReelError

pytestmark = pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")

RED = (220, 20, 20)
BLUE = (20, 20, 220)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>secret-xmp</dc:creator>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# ---------------------------------------------------------------------------------------------
# Helpers: generating images and reading container structure.


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def two_tone(width: int = 40, height: int = 20, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new(mode, (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def gradient(width: int, height: int) -> Image.Image:
    return Image.radial_gradient("L").resize((width, height)).convert("RGB")


def exif_with_gps_and_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.Model] = "Model X"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 42.0)
    return exif


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of every segment before the scan data."""
    assert data[:2] == b"\xff\xd8"
    markers, offset = [], 2
    while offset < len(data):
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return chunks


def riff_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        chunks.append(data[offset : offset + 4])
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + size + (size & 1)
    return chunks


def assert_no_metadata(data: bytes) -> None:
    """Check the container structure itself, not just what Pillow chooses to report."""
    if data[:2] == b"\xff\xd8":
        markers = jpeg_markers(data)
        assert not [m for m in markers if 0xE1 <= m <= 0xEF], "APP1-APP15 (EXIF/XMP/ICC/...)"
        assert 0xFE not in markers, "COM segment"
    elif data[:4] == b"\x89PNG":
        assert set(png_chunks(data)) <= {b"IHDR", b"PLTE", b"IDAT", b"IEND"}
    else:
        assert set(riff_chunks(data)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
    with Image.open(io.BytesIO(data)) as image:
        assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & set(image.info)
        assert len(image.getexif()) == 0
    for secret in (b"SecretCam", b"secret", b"GPS", b"Exif", b"xmpmeta"):
        assert secret not in data


def assert_thumbnails(result: ProcessedImage) -> None:
    assert set(result.thumbnails) == set(THUMBNAIL_SIZES)
    for name, data in result.thumbnails.items():
        assert_no_metadata(data)
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.format == "WEBP"
            longest = min(THUMBNAIL_SIZES[name], max(result.width, result.height))
            assert max(thumb.size) == longest
            # The aspect ratio is kept, give or take rounding.
            assert abs(thumb.width / thumb.height - result.width / result.height) < 0.05 * max(
                1, result.width / result.height
            )


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def rejected(data: bytes, **limits: int) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        process_image(data, **limits)
    return info.value


def png_with_header_size(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose IHDR is patched to claim width x height, with a valid CRC."""
    data = bytearray(encode(Image.new("RGB", (1, 1), RED), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def jpeg_with_header_size(width: int, height: int) -> bytes:
    """A real JPEG whose SOF0 segment is patched to claim width x height."""
    data = bytearray(encode(Image.new("RGB", (8, 8), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any pixel data is decoded."""

    def no_load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)


# ---------------------------------------------------------------------------------------------
# Accepted images: metadata stripped, orientation applied.


def test_jpeg_exif_gps_stripped_and_orientation_applied() -> None:
    exif = exif_with_gps_and_orientation(6)
    source = encode(
        two_tone(40, 20), "JPEG", exif=exif.tobytes(), icc_profile=SRGB_ICC, comment=b"secret",
        xmp=XMP, quality=95,
    )  # fmt: skip
    with Image.open(io.BytesIO(source)) as check:  # the input really carries what we strip
        assert check.getexif()[ExifTags.Base.Orientation] == 6
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert "xmp" in check.info and "icc_profile" in check.info and "comment" in check.info

    result = process_image(source)

    assert result.format == "jpeg"
    assert result.media_type == "image/jpeg"
    # Orientation 6 means "rotate 90 degrees clockwise to display". The stored 40x20 picture
    # becomes 20x40, and its left (red) half ends up on top.
    assert (result.width, result.height) == (20, 40)
    assert_no_metadata(result.original)
    with Image.open(io.BytesIO(result.original)) as image:
        assert image.format == "JPEG"
        assert image.size == (20, 40)
        rgb = image.convert("RGB")
        assert close_to(pixel(rgb, (10, 5)), RED)
        assert close_to(pixel(rgb, (10, 35)), BLUE)
    assert result.sha256 == hashlib.sha256(result.original).hexdigest()
    assert_thumbnails(result)
    for data in result.thumbnails.values():
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.width < thumb.height  # the thumbnails are upright too


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(1, (40, 20)), (2, (40, 20)), (3, (40, 20)), (5, (20, 40)), (8, (20, 40))],
)
def test_every_orientation_gives_an_upright_image(orientation: int, size: tuple[int, int]) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    result = process_image(encode(two_tone(), "JPEG", exif=exif.tobytes()))
    assert (result.width, result.height) == size
    assert_no_metadata(result.original)


def test_broken_exif_is_dropped_not_fatal() -> None:
    source = encode(two_tone(), "JPEG", exif=b"Exif\x00\x00MM\x00*garbage-garbage-garbage")
    result = process_image(source)
    assert (result.width, result.height) == (40, 20)
    assert_no_metadata(result.original)


def test_png_text_chunks_and_metadata_stripped() -> None:
    info = PngInfo()
    info.add_text("Comment", "secret comment")
    info.add_text("Author", "secret author", zip=True)
    info.add_itxt("Description", "secret ünïcode", lang="en", tkey="Beschreibung")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    exif = exif_with_gps_and_orientation(1)
    source = encode(
        two_tone(), "PNG", pnginfo=info, exif=exif.tobytes(), icc_profile=SRGB_ICC, dpi=(300, 300)
    )
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"pHYs"} <= set(png_chunks(source))

    result = process_image(source)

    assert result.format == "png"
    assert (result.width, result.height) == (40, 20)
    assert_no_metadata(result.original)
    with Image.open(io.BytesIO(result.original)) as image:
        # PNG is lossless, and an sRGB profile leaves the pixels exactly as they were.
        assert image.convert("RGB").tobytes() == two_tone().tobytes()
    assert_thumbnails(result)


def test_png_transparency_is_kept() -> None:
    image = Image.new("RGBA", (64, 32), (0, 0, 0, 0))
    image.paste((*RED, 255), (0, 0, 32, 32))
    result = process_image(encode(image, "PNG"))
    with Image.open(io.BytesIO(result.original)) as out:
        assert out.mode == "RGBA"
        assert pixel(out, (48, 16))[3] == 0
        assert out.getpixel((16, 16)) == (*RED, 255)
    for data in result.thumbnails.values():
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.mode == "RGBA"
            assert pixel(thumb, (thumb.width - 1, 0))[3] == 0


def test_palette_png_with_transparency_chunk_keeps_its_transparency() -> None:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    image.paste(1, (10, 0, 20, 20))
    source = encode(image, "PNG", transparency=1)
    assert b"tRNS" in png_chunks(source)
    result = process_image(source)
    assert_no_metadata(result.original)
    with Image.open(io.BytesIO(result.original)) as out:
        rgba = out.convert("RGBA")
        assert rgba.getpixel((2, 2)) == (*RED, 255)
        assert pixel(rgba, (15, 2))[3] == 0


def test_palette_png_without_transparency_stays_a_palette_image() -> None:
    image = Image.new("P", (20, 20), 1)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    result = process_image(encode(image, "PNG"))
    assert set(png_chunks(result.original)) == {b"IHDR", b"PLTE", b"IDAT", b"IEND"}
    with Image.open(io.BytesIO(result.original)) as out:
        assert out.mode == "P"
        assert out.convert("RGB").getpixel((0, 0)) == BLUE


def test_sixteen_bit_greyscale_png_is_scaled_to_eight_bits() -> None:
    image = Image.new("I;16", (4, 1))
    for x, value in enumerate((0, 257, 32896, 65535)):
        image.putpixel((x, 0), value)
    result = process_image(encode(image, "PNG"))
    with Image.open(io.BytesIO(result.original)) as out:
        assert out.mode == "L"
        assert [out.getpixel((x, 0)) for x in range(4)] == [0, 1, 128, 255]


def test_webp_lossy_metadata_stripped() -> None:
    exif = exif_with_gps_and_orientation(1)
    source = encode(gradient(300, 200), "WEBP", quality=85, exif=exif.tobytes(), xmp=XMP,
                    icc_profile=SRGB_ICC)  # fmt: skip
    assert {b"EXIF", b"XMP ", b"ICCP"} <= set(riff_chunks(source))

    result = process_image(source)

    assert result.format == "webp"
    assert result.media_type == "image/webp"
    assert (result.width, result.height) == (300, 200)
    assert b"VP8 " in riff_chunks(result.original)  # lossy in, lossy out
    assert_no_metadata(result.original)
    assert_thumbnails(result)


def test_webp_lossless_with_alpha_stays_lossless() -> None:
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    image.paste((*BLUE, 255), (0, 0, 25, 50))
    exif = exif_with_gps_and_orientation(8)  # rotate 90 degrees counter-clockwise to display
    source = encode(image, "WEBP", lossless=True, exif=exif.tobytes())

    result = process_image(source)

    assert result.format == "webp"
    assert b"VP8L" in riff_chunks(result.original)
    assert_no_metadata(result.original)
    with Image.open(io.BytesIO(result.original)) as out:
        assert out.mode == "RGBA"
        # The blue left half is at the bottom after the rotation, and nothing was lost.
        assert out.getpixel((25, 45)) == (*BLUE, 255)
        assert pixel(out, (25, 5))[3] == 0


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = process_image(encode(two_tone().convert("CMYK"), "JPEG"))
    assert result.format == "jpeg"
    with Image.open(io.BytesIO(result.original)) as out:
        assert out.mode == "RGB"
        assert close_to(pixel(out, (5, 10)), RED)


def test_greyscale_jpeg_stays_greyscale() -> None:
    result = process_image(encode(gradient(64, 64).convert("L"), "JPEG"))
    with Image.open(io.BytesIO(result.original)) as out:
        assert out.mode == "L"


def test_unusable_icc_profile_is_dropped() -> None:
    source = encode(two_tone(), "PNG", icc_profile=b"not really an ICC profile")
    result = process_image(source)
    assert_no_metadata(result.original)


def test_jpeg_with_extra_mpf_picture_uses_the_primary_picture() -> None:
    source = encode(
        Image.new("RGB", (30, 20), RED), "MPO", save_all=True,
        append_images=[Image.new("RGB", (30, 20), BLUE)],
    )  # fmt: skip
    result = process_image(source)
    assert result.format == "jpeg"
    assert (result.width, result.height) == (30, 20)
    assert_no_metadata(result.original)
    with Image.open(io.BytesIO(result.original)) as out:
        assert out.format == "JPEG"
        assert close_to(pixel(out, (15, 10)), RED)


def test_format_comes_from_content() -> None:
    # The function sees no file name or declared type. Each format is detected from its bytes.
    for fmt, name in (("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")):
        assert process_image(encode(two_tone(), fmt)).format == name


def test_thumbnail_sizes_for_a_large_image() -> None:
    result = process_image(encode(gradient(1200, 800), "JPEG"))
    sizes = {}
    for name, data in result.thumbnails.items():
        with Image.open(io.BytesIO(data)) as thumb:
            sizes[name] = thumb.size
    assert sizes == {"small": (160, 107), "medium": (480, 320)}
    assert_thumbnails(result)


def test_small_images_are_not_enlarged() -> None:
    result = process_image(encode(two_tone(100, 50), "PNG"))
    for data in result.thumbnails.values():
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.size == (100, 50)


def test_tiny_image() -> None:
    result = process_image(encode(Image.new("RGB", (1, 1), RED), "PNG"))
    assert (result.width, result.height) == (1, 1)
    assert_thumbnails(result)


def test_processing_is_deterministic_and_stable() -> None:
    source = encode(gradient(200, 150), "JPEG", exif=exif_with_gps_and_orientation(6).tobytes())
    first = process_image(source)
    second = process_image(source)
    assert first.sha256 == second.sha256
    assert first.original == second.original
    assert first.thumbnails == second.thumbnails
    again = process_image(first.original)
    assert (again.format, again.width, again.height) == ("jpeg", 150, 200)


def test_result_repr_leaves_out_the_bytes() -> None:
    result = process_image(encode(two_tone(), "PNG"))
    assert "original" not in repr(result)
    assert result.sha256 in repr(result)


# ---------------------------------------------------------------------------------------------
# Rejections.


def test_truncated_jpeg() -> None:
    source = encode(gradient(200, 200), "JPEG")
    error = rejected(source[: len(source) // 2])
    assert error.code == "not_an_image"
    assert "truncated" in error.reason


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_files(fmt: str, keep: float) -> None:
    source = encode(gradient(200, 200), fmt)
    assert rejected(source[: int(len(source) * keep)]).code == "not_an_image"


def test_random_bytes() -> None:
    data = random.Random(20240607).randbytes(4096)
    assert rejected(data).code == "not_an_image"


def test_empty_file() -> None:
    error = rejected(b"")
    assert error.code == "not_an_image"
    assert "empty" in error.reason


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"<html><img src=x onerror=alert(1)></html>",
        b"\xff\xd8\xff<html><script>alert(1)</script></html>",  # JPEG magic, then HTML
        b"\x89PNG\r\n\x1a\n<script>alert(1)</script>",  # PNG magic, then HTML
        b"RIFF\x10\x00\x00\x00WEBPVP8 <script>",  # WebP magic, then junk
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"GIF",  # too short to be anything
        b"\x00" * 64,
    ],
)
def test_not_an_image(data: bytes) -> None:
    assert rejected(data).code == "not_an_image"


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="5"/></svg>',
        b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        b'\xef\xbb\xbf<?xml version="1.0"?><!-- drawn by hand -->'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<SVG width="10"></SVG>',
    ],
)
def test_svg_is_unsupported(data: bytes) -> None:
    error = rejected(data)
    assert error.code == "unsupported_format"
    assert "SVG" in error.reason


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: encode(two_tone(), "GIF"), "GIF"),
        (lambda: encode(two_tone(), "GIF", save_all=True,
                        append_images=[two_tone().rotate(180)]), "GIF"),
        (lambda: encode(two_tone(), "BMP"), "BMP"),
        (lambda: encode(two_tone(), "TIFF"), "TIFF"),
        (lambda: encode(two_tone(), "ICO"), "ICO"),
        (lambda: encode(two_tone(), "PSD") if "PSD" in Image.SAVE else b"8BPS\x00\x01", "PSD"),
        (lambda: b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic", "HEIC/AVIF"),
        (lambda: b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "HEIC/AVIF"),
    ],
)  # fmt: skip
def test_other_image_formats_are_unsupported(make: Callable[[], bytes], name: str) -> None:
    error = rejected(make())
    assert error.code == "unsupported_format"
    assert name in error.reason


def test_oversize_bytes_rejected_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_open(*args: object, **kwargs: object) -> Image.Image:
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(Image, "open", no_open)
    error = rejected(b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 2**20))
    assert error.code == "too_large"
    assert error.status == 413
    assert rejected(b"\xff\xd8\xff" + b"\x00" * 100, max_bytes=100).code == "too_large"


def test_limit_is_inclusive() -> None:
    source = encode(two_tone(), "PNG")
    assert process_image(source, max_bytes=len(source)).format == "png"
    assert process_image(source, max_pixels=40 * 20).width == 40
    assert rejected(source, max_pixels=40 * 20 - 1).code == "decompression_bomb"


@pytest.mark.usefixtures("forbid_decoding")
def test_png_bomb_header_rejected_quickly_without_decoding() -> None:
    bomb = png_with_header_size(50_000, 50_000)
    assert len(bomb) < 100
    started = time.perf_counter()
    error = rejected(bomb)
    assert time.perf_counter() - started < 1.0
    assert error.code == "decompression_bomb"
    assert error.status == 422


@pytest.mark.usefixtures("forbid_decoding")
@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [
        (7_000, 7_000, 40_000_000),  # over our limit, under Pillow's: caught by our own check
        (10_000, 10_000, 10**9),  # over Pillow's warning limit: the warning is an error
        (50_000, 50_000, 10**10),  # over Pillow's hard limit: DecompressionBombError
        (1, 2**31 - 1, 40_000_000),  # a silly aspect ratio is still counted
    ],
)
def test_png_bomb_every_path(width: int, height: int, max_pixels: int) -> None:
    assert rejected(png_with_header_size(width, height), max_pixels=max_pixels).code == (
        "decompression_bomb"
    )


@pytest.mark.usefixtures("forbid_decoding")
def test_jpeg_bomb_header_rejected_without_decoding() -> None:
    assert rejected(jpeg_with_header_size(65_000, 65_000)).code == "decompression_bomb"
    assert rejected(jpeg_with_header_size(8_000, 6_000)).code == "decompression_bomb"


def test_header_patch_really_changes_the_size() -> None:
    with Image.open(io.BytesIO(png_with_header_size(300, 200))) as image:
        assert image.size == (300, 200)
    with Image.open(io.BytesIO(jpeg_with_header_size(300, 200))) as image:
        assert image.size == (300, 200)


def test_zero_sized_header() -> None:
    assert rejected(png_with_header_size(0, 10)).code == "not_an_image"


def test_animated_png_rejected() -> None:
    source = encode(two_tone(), "PNG", save_all=True, append_images=[two_tone().rotate(180)])
    assert b"acTL" in png_chunks(source)
    error = rejected(source)
    assert error.code == "animated"


def test_animated_webp_rejected() -> None:
    source = encode(two_tone(), "WEBP", save_all=True, append_images=[two_tone().rotate(180)])
    assert b"ANIM" in riff_chunks(source)
    assert rejected(source).code == "animated"


def test_rejection_is_a_problem_detail() -> None:
    error = rejected(b"garbage")
    assert isinstance(error, ShopReelError)
    assert error.status == 422
    problem = error.problem()
    assert problem["code"] == "not_an_image"
    assert problem["detail"] == error.reason
    assert repr(error).startswith("ImageRejected('not_an_image', ")
    with pytest.raises(ValueError, match="unknown rejection code"):
        ImageRejected("bad_code", "x")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Fuzzing: damaged files give a result or an ImageRejected, never anything else.

SEEDS = {
    "jpeg": encode(gradient(24, 16), "JPEG", exif=exif_with_gps_and_orientation(6).tobytes()),
    "png": encode(two_tone(24, 16), "PNG"),
    "webp": encode(gradient(24, 16), "WEBP"),
    "webp-lossless": encode(two_tone(24, 16, "RGBA"), "WEBP", lossless=True),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(min_value=0),
)
def test_damaged_files_never_crash(seed: str, edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SEEDS[seed])
    for position, value in edits:
        data[position % len(data)] = value
    data = data[: max(1, len(data) - cut % 40)]
    try:
        result = process_image(bytes(data))
    except ImageRejected as error:
        assert error.code != "too_large"
    else:
        assert_no_metadata(result.original)
        assert result.sha256 == hashlib.sha256(result.original).hexdigest()


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b""]),
    st.binary(max_size=300),
)
def test_magic_followed_by_junk_is_rejected(magic: bytes, junk: bytes) -> None:
    with pytest.raises(ImageRejected):
        process_image(magic + junk)
