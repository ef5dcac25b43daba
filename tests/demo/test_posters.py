from __future__ import annotations

import dataclasses
import io
from itertools import islice

import pytest
from PIL import Image

from shopreel.demo.posters import MAX_POSTER_BYTES, render_poster
from shopreel.demo.world import DemoVideo, DemoWorld, WorldSize


@pytest.fixture(scope="module")
def videos() -> list[DemoVideo]:
    world = DemoWorld(
        WorldSize(sellers=10, products=120, creators=12, videos=24, shoppers=1, interactions=0)
    )
    return list(islice(world.videos(), 24))


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_poster_is_a_valid_vertical_jpeg(videos: list[DemoVideo]) -> None:
    data = render_poster(videos[0])
    assert data[:3] == b"\xff\xd8\xff"
    image = decode(data)
    assert image.format == "JPEG"
    assert image.size == (360, 640)
    assert image.mode == "RGB"


def test_posters_are_small(videos: list[DemoVideo]) -> None:
    for video in videos:
        assert len(render_poster(video)) <= MAX_POSTER_BYTES <= 30_000


def test_poster_is_deterministic(videos: list[DemoVideo]) -> None:
    video = videos[3]
    assert render_poster(video) == render_poster(video)
    copy = dataclasses.replace(video, caption="a different caption", duration_s=77)
    assert render_poster(copy) == render_poster(video)


def test_different_videos_differ(videos: list[DemoVideo]) -> None:
    posters = {render_poster(video) for video in videos}
    assert len(posters) == len(videos)
    video = videos[0]
    assert render_poster(dataclasses.replace(video, poster_seed=video.poster_seed + 1)) != (
        render_poster(video)
    )
    assert render_poster(dataclasses.replace(video, dominant_color="#123456")) != (
        render_poster(video)
    )
    assert render_poster(dataclasses.replace(video, hashtags=("#other",))) != render_poster(video)


def test_dominant_color_shows(videos: list[DemoVideo]) -> None:
    video = dataclasses.replace(videos[0], dominant_color="#d00000")
    image = decode(render_poster(video)).convert("RGB")
    red, green, blue = image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    assert red > green + 30 and red > blue + 30


def test_custom_size_and_edge_cases(videos: list[DemoVideo]) -> None:
    image = decode(render_poster(videos[1], width=180, height=320))
    assert image.size == (180, 320)
    long_tag = dataclasses.replace(videos[1], hashtags=("#" + "verylonghashtag" * 6,))
    assert decode(render_poster(long_tag)).size == (360, 640)
    no_tags = dataclasses.replace(videos[1], hashtags=())
    assert decode(render_poster(no_tags)).size == (360, 640)
    with pytest.raises(ValueError):
        render_poster(videos[1], width=0)
    with pytest.raises(ValueError):
        render_poster(dataclasses.replace(videos[1], dominant_color="red"))
