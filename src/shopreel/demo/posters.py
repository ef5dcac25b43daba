"""Deterministic poster images (video thumbnails) for demo videos.

A poster is a vertical JPEG: a gradient from the video's dominant colour, a few translucent
geometric shapes placed from ``poster_seed`` and the first hashtag as a caption, drawn with
Pillow's built-in default font (no font files are read or downloaded). The same video always
gives the same bytes with the same Pillow build.
"""

from __future__ import annotations

import colorsys
import functools
import io
import random
import re

from PIL import Image, ImageDraw, ImageFont

from shopreel.demo.world import DemoVideo

__all__ = ["MAX_POSTER_BYTES", "render_poster"]

#: Posters are re-encoded at lower quality until they fit in this many bytes.
MAX_POSTER_BYTES = 30_000
_QUALITIES = (82, 72, 62, 50, 40, 30)

_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")

RGB = tuple[int, int, int]
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _parse_hex(color: str) -> RGB:
    match = _HEX_COLOR.fullmatch(color.strip())
    if match is None:
        raise ValueError(f"expected a #rrggbb colour, got {color!r}")
    value = match.group(1)
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    number = int(value, 16)
    return (number >> 16) & 0xFF, (number >> 8) & 0xFF, number & 0xFF


def _blend(a: RGB, b: RGB, amount: float) -> RGB:
    """``a`` moved ``amount`` (0..1) of the way towards ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * amount),
        round(a[1] + (b[1] - a[1]) * amount),
        round(a[2] + (b[2] - a[2]) * amount),
    )


def _shifted(color: RGB, hue_shift: float, lightness: float) -> RGB:
    """``color`` with its hue rotated and lightness replaced (both in 0..1)."""
    h, _, s = colorsys.rgb_to_hls(color[0] / 255, color[1] / 255, color[2] / 255)
    r, g, b = colorsys.hls_to_rgb((h + hue_shift) % 1.0, lightness, max(s, 0.35))
    return round(r * 255), round(g * 255), round(b * 255)


def _luminance(color: RGB) -> float:
    return (0.2126 * color[0] + 0.7152 * color[1] + 0.0722 * color[2]) / 255


@functools.lru_cache(maxsize=32)
def _font(size: int) -> _Font:
    return ImageFont.load_default(size=size)


def _fit_text(
    draw: ImageDraw.ImageDraw, text: str, max_width: int, size: int
) -> tuple[str, _Font, tuple[int, int, int, int]]:
    """The largest default-font size (down to 10 px) at which ``text`` fits ``max_width``;
    the text is shortened with an ellipsis when even that is too wide."""
    font = _font(size)
    bbox = draw.textbbox((0, 0), text, font=font)
    while bbox[2] - bbox[0] > max_width and size > 10:
        size = max(10, int(size * 0.85))
        font = _font(size)
        bbox = draw.textbbox((0, 0), text, font=font)
    while bbox[2] - bbox[0] > max_width and len(text) > 2:
        text = text[:-2] + "…"
        bbox = draw.textbbox((0, 0), text, font=font)
    return text, font, (int(bbox[0]), int(bbox[1]), int(bbox[2]), int(bbox[3]))


def _draw_shapes(overlay: Image.Image, rng: random.Random, base: RGB) -> None:
    width, height = overlay.size
    draw = ImageDraw.Draw(overlay)
    unit = min(width, height)
    for _ in range(rng.randint(3, 6)):
        color = _shifted(base, rng.choice((0.0, 0.08, -0.08, 0.5, 0.33)), rng.uniform(0.3, 0.85))
        fill = (*color, rng.randint(55, 140))
        cx, cy = rng.uniform(-0.1, 1.1) * width, rng.uniform(-0.05, 0.85) * height
        radius = rng.uniform(0.12, 0.45) * unit
        kind = rng.randrange(4)
        if kind == 0:
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
        elif kind == 1:
            box = (cx - radius, cy - radius * 0.6, cx + radius, cy + radius * 0.6)
            draw.rounded_rectangle(box, radius=radius * 0.25, fill=fill)
        elif kind == 2:
            draw.regular_polygon(
                (cx, cy, radius), n_sides=3, rotation=rng.uniform(0, 120), fill=fill
            )
        else:
            ring = max(2, int(radius * 0.18))
            box = (cx - radius, cy - radius, cx + radius, cy + radius)
            draw.ellipse(box, outline=fill, width=ring)


def _draw_play_button(overlay: Image.Image) -> None:
    width, height = overlay.size
    draw = ImageDraw.Draw(overlay)
    radius = min(width, height) * 0.11
    cx, cy = width / 2, height * 0.45
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(0, 0, 0, 70))
    draw.regular_polygon((cx + radius * 0.1, cy, radius * 0.55), 3, rotation=30, fill=(255,) * 4)


def render_poster(video: DemoVideo, *, width: int = 360, height: int = 640) -> bytes:
    """Render ``video``'s poster as JPEG bytes (by default 360x640, i.e. 9:16).

    Deterministic: the picture depends only on the video's ``dominant_color``,
    ``poster_seed`` and first hashtag. The result is kept under :data:`MAX_POSTER_BYTES`
    for the default size by lowering JPEG quality when needed.
    """
    if width < 16 or height < 16:
        raise ValueError(f"poster size must be at least 16x16, got {width}x{height}")
    rng = random.Random(video.poster_seed)
    base = _parse_hex(video.dominant_color)
    size = (width, height)

    # Vertical gradient: a lighter tint of the colour at the top to a deep shade at the bottom.
    top = _blend(base, (255, 255, 255), 0.25)
    bottom = _blend(base, (0, 0, 0), 0.6)
    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)

    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    _draw_shapes(overlay, rng, base)
    _draw_play_button(overlay)

    # Caption: the first hashtag on a translucent pill in the lower third.
    draw = ImageDraw.Draw(overlay)
    text = video.hashtags[0] if video.hashtags else ""
    if text:
        padding = max(4, width // 30)
        text, font, bbox = _fit_text(draw, text, width - 4 * padding, max(12, width // 11))
        text_w, text_h = bbox[2] - bbox[0], bbox[3] - bbox[1]
        x = (width - text_w) // 2
        y = int(height * 0.78) - text_h // 2
        pill = (x - padding, y - padding, x + text_w + padding, y + text_h + padding)
        dark_text = _luminance(top) > 0.75 and _luminance(bottom) > 0.6
        pill_fill = (255, 255, 255, 170) if dark_text else (0, 0, 0, 120)
        draw.rounded_rectangle(pill, radius=(text_h + 2 * padding) // 2, fill=pill_fill)
        text_fill = (20, 20, 20, 255) if dark_text else (255, 255, 255, 255)
        draw.text((x - bbox[0], y - bbox[1]), text, font=font, fill=text_fill)

    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    data = b""
    for quality in _QUALITIES:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality, optimize=True, subsampling="4:2:0")
        data = buffer.getvalue()
        if len(data) <= MAX_POSTER_BYTES:
            break
    return data
