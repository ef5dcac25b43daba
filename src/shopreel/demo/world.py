"""Deterministic demo world generator (pure: no database, no I/O besides the taxonomy).

``DemoWorld(WorldSize(...), seed=42)`` describes a synthetic but realistic marketplace: sellers
with catalogs of products (real Google taxonomy leaf categories, variants, prices, EAN-13
barcodes), creators posting shoppable videos, shoppers and a stream of engagement events with
long-tailed popularity, a conversion funnel, per-shopper category preferences and time-of-day
patterns. Everything is streamed from generators so millions of rows never sit in memory.

Determinism: each seller, product, creator, video and shopper draws from its own RNG, derived
from ``(seed, kind, index)`` with an integer hash, so the same seed and sizes always give
identical output, and growing one size keeps the first entities of that kind unchanged. The
interaction stream uses one RNG seeded from ``seed``, so growing ``interactions`` only appends.
Timestamps are relative to the fixed :data:`EPOCH`, never to the wall clock. The global
``random`` state is never touched.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice

from shopreel.catalog.taxonomy import Category, Taxonomy, default_taxonomy

__all__ = [
    "DEMO_EMAIL_DOMAIN",
    "DEMO_PASSWORD",
    "EPOCH",
    "INTERACTION_KINDS",
    "DemoCreator",
    "DemoInteraction",
    "DemoLogin",
    "DemoProduct",
    "DemoSeller",
    "DemoShopper",
    "DemoVariant",
    "DemoVideo",
    "DemoWorld",
    "WorldSize",
    "ean13_check_digit",
    "is_valid_ean13",
    "slugify",
]

#: All generated timestamps lie before this instant (it stands in for "now").
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
#: Password of the five fixed demo logins.
DEMO_PASSWORD = "shopreel-demo-2026"  # noqa: S105 - public demo credential, documented
DEMO_EMAIL_DOMAIN = "demo.shopreel.test"
INTERACTION_KINDS = (
    "impression",
    "view",
    "like",
    "share",
    "product_click",
    "add_to_cart",
    "purchase",
    "follow",
)
REGIONS = ("us", "intl")

_DAY = 86_400
_INTERACTION_WINDOW_DAYS = 90
_VIDEO_WINDOW_DAYS = 180

# ---------------------------------------------------------------------------------------------
# Public records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorldSize:
    sellers: int = 200
    products: int = 2000
    creators: int = 120
    videos: int = 1500
    shoppers: int = 1000
    interactions: int = 50_000

    def __post_init__(self) -> None:
        for name in ("sellers", "products", "creators", "videos", "shoppers", "interactions"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"WorldSize.{name} must be a non-negative int, got {value!r}")
        if self.products and not self.sellers:
            raise ValueError("products need at least one seller")
        if self.videos and not self.creators:
            raise ValueError("videos need at least one creator")


@dataclass(frozen=True, slots=True)
class DemoSeller:
    id: str
    handle: str
    name: str
    description: str
    owner_email: str
    country: str
    region: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DemoVariant:
    id: str
    sku: str
    options: dict[str, str]
    price_cents: int
    compare_at_cents: int | None
    currency: str
    weight_grams: int
    barcode: str


@dataclass(frozen=True, slots=True)
class DemoProduct:
    id: str
    seller_id: str
    title: str
    description: str
    category_id: int
    tags: tuple[str, ...]
    status: str
    created_at: datetime
    variants: list[DemoVariant] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DemoCreator:
    id: str
    handle: str
    display_name: str
    bio: str
    country: str
    region: str
    user_email: str


@dataclass(frozen=True, slots=True)
class DemoVideo:
    id: str
    creator_id: str
    caption: str
    hashtags: tuple[str, ...]
    tagged_product_ids: tuple[str, ...]
    duration_s: int
    created_at: datetime
    poster_seed: int
    dominant_color: str
    region: str


@dataclass(frozen=True, slots=True)
class DemoShopper:
    id: str
    email: str
    display_name: str
    country: str
    region: str


@dataclass(frozen=True, slots=True)
class DemoInteraction:
    shopper_id: str
    region: str
    kind: str
    video_id: str | None
    product_id: str | None
    watch_ms: int | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    password: str
    role: str
    country: str
    region: str
    jurisdiction: str | None
    display_name: str
    description: str
    staff_roles: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _splitmix64(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _mix(seed: int, kind: int, index: int) -> int:
    """A stable 64-bit hash of ``(seed, kind, index)``."""
    return _splitmix64(_splitmix64(_splitmix64(seed & _MASK64) ^ kind) ^ (index & _MASK64))


# Stream identifiers for _mix (never renumber: that would change every generated world).
_K_SELLER = 1
_K_PRODUCT = 2
_K_CREATOR = 3
_K_VIDEO = 4
_K_SHOPPER = 5
_K_INTERACTIONS = 6
_K_SHOPPER_TASTE = 7
_K_RANK_SELLER = 11
_K_RANK_PRODUCT = 12
_K_RANK_CREATOR = 13
_K_RANK_VIDEO = 14
_K_RANK_SHOPPER = 15
_K_BARCODE = 16


def ean13_check_digit(first12: str) -> int:
    """Check digit for the first 12 digits of an EAN-13."""
    if len(first12) != 12 or not (first12.isascii() and first12.isdigit()):
        raise ValueError(f"expected 12 digits, got {first12!r}")
    digits = first12.encode("ascii")
    # Weights 1,3,1,3,... from the left; each ASCII digit is 48 + its value (24 weight units).
    total = sum(digits[0::2]) + 3 * sum(digits[1::2]) - 48 * 24
    return -total % 10


def is_valid_ean13(code: str) -> bool:
    if len(code) != 13 or not (code.isascii() and code.isdigit()):
        return False
    return ean13_check_digit(code[:12]) == int(code[12])


_TRANSLITERATE = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "\u0131": "i",
    }
)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    return decomposed.encode("ascii", "ignore").decode("ascii")


@functools.lru_cache(maxsize=16_384)
def slugify(text: str, sep: str = "-") -> str:
    """Lower-case ASCII slug: ``"Søren's Café & Co."`` -> ``"sorens-cafe-co"``."""
    words = re.findall(r"[a-z0-9]+", _ascii(text).lower().replace("'", ""))
    return sep.join(words)


class _Sampler:
    """Weighted sampling of items through cumulative weights and bisect."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, items: Iterable[int], weights: Iterable[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))
        if not self.items or len(self.cum) != len(self.items) or self.cum[-1] <= 0:
            raise ValueError("a sampler needs items with positive total weight")
        self.total = self.cum[-1]
        self.cum[-1] = math.inf  # float rounding can never push a draw past the last item

    def __len__(self) -> int:
        return len(self.items)

    def sample(self, rng: random.Random) -> int:
        return self.items[bisect_right(self.cum, rng.random() * self.total)]


def _zipf(ranked_items: Sequence[int], exponent: float) -> _Sampler:
    """Zipf-like sampler: the item at rank r (0-based) has weight (r + 1) ** -exponent."""
    return _Sampler(ranked_items, [(r + 1) ** -exponent for r in range(len(ranked_items))])


def _split(text: str) -> tuple[str, ...]:
    """``"a, b c, d"`` -> ``("a", "b c", "d")`` (keeps long word lists compact)."""
    return tuple(part.strip() for part in text.split(","))


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[int(rng.random() * len(options))]


def _at(offset_s: int) -> datetime:
    """Timestamp ``offset_s`` seconds relative to EPOCH (negative = in the past)."""
    return EPOCH + timedelta(seconds=offset_s)


# ---------------------------------------------------------------------------------------------
# Geography and people
# ---------------------------------------------------------------------------------------------

_SELLER_COUNTRIES = {
    "US": 70.0,
    "GB": 5.0,
    "DE": 4.0,
    "CA": 4.0,
    "JP": 3.0,
    "BR": 3.0,
    "AU": 3.0,
    "IN": 3.0,
    "FR": 3.0,
    "SG": 2.0,
}
_CREATOR_COUNTRIES = {
    "US": 62.0,
    "GB": 7.0,
    "BR": 5.0,
    "CA": 5.0,
    "DE": 4.0,
    "FR": 4.0,
    "AU": 4.0,
    "IN": 4.0,
    "JP": 3.0,
    "SG": 2.0,
}
_SHOPPER_COUNTRIES = {
    "US": 55.0,
    "GB": 8.0,
    "CA": 6.0,
    "DE": 6.0,
    "FR": 5.0,
    "BR": 5.0,
    "IN": 5.0,
    "AU": 4.0,
    "JP": 4.0,
    "SG": 2.0,
}
_COUNTRY_NAMES = {
    "US": "the United States",
    "GB": "the United Kingdom",
    "DE": "Germany",
    "SG": "Singapore",
    "JP": "Japan",
    "BR": "Brazil",
    "CA": "Canada",
    "AU": "Australia",
    "IN": "India",
    "FR": "France",
}
_CITIES = {
    "US": ("Austin", "Brooklyn", "Portland", "Denver", "Nashville", "Oakland", "Chicago", "Miami"),
    "GB": ("London", "Manchester", "Bristol", "Edinburgh", "Leeds"),
    "DE": ("Berlin", "Hamburg", "München", "Köln", "Leipzig"),
    "SG": ("Singapore",),
    "JP": ("Tokyo", "Osaka", "Kyoto", "Fukuoka"),
    "BR": ("São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba"),
    "CA": ("Toronto", "Montréal", "Vancouver", "Calgary"),
    "AU": ("Melbourne", "Sydney", "Brisbane", "Perth"),
    "IN": ("Bengaluru", "Mumbai", "Delhi", "Pune", "Jaipur"),
    "FR": ("Paris", "Lyon", "Marseille", "Bordeaux", "Nantes"),
}
# UTC offsets in hours (several for large countries); used for time-of-day patterns.
_UTC_OFFSETS: dict[str, tuple[float, ...]] = {
    "US": (-5.0, -5.0, -6.0, -7.0, -8.0, -8.0),
    "GB": (0.0,),
    "DE": (1.0,),
    "SG": (8.0,),
    "JP": (9.0,),
    "BR": (-3.0,),
    "CA": (-5.0, -5.0, -8.0, -7.0),
    "AU": (10.0, 10.0, 8.0),
    "IN": (5.5,),
    "FR": (1.0,),
}
# Relative activity by local hour (lunch bump, evening peak).
_HOUR_WEIGHTS = (
    0.55, 0.35, 0.2, 0.12, 0.08, 0.08, 0.15, 0.35, 0.55, 0.65, 0.7, 0.8,
    1.05, 1.1, 0.85, 0.8, 0.85, 1.0, 1.25, 1.55, 1.85, 2.0, 1.7, 1.05,
)  # fmt: skip

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "US": (
        _split(
            "Emma, Olivia, Ava, Mia, Harper, Madison, Liam, Noah, Elijah, James, Mateo, Lucas, "
            "Jayden, Aaliyah, Imani, Sofía, Camila, Valentina, José, Jesús, Mei, Priya, Zoë, "
            "Chloé, DeShawn, Ethan, Grace, Hannah, Isaiah, Kai, Leilani, Marcus, Nora, Owen, Rosa"
        ),
        _split(
            "Smith, Johnson, Williams, Brown, Jones, García, Miller, Davis, Rodríguez, Martínez, "
            "Hernández, López, Nguyen, Kim, Patel, Wilson, Anderson, Thomas, Jackson, Washington, "
            "O'Brien, Murphy, Chen, Ramírez, Peña, Begay, Cohen, Kowalski, Russo, Okafor"
        ),
    ),
    "GB": (
        _split(
            "Oliver, George, Harry, Amelia, Isla, Freya, Poppy, Arthur, Siobhán, Aoife, Rhys, "
            "Ffion, Niamh, Ravi, Zainab, Callum"
        ),
        _split(
            "Taylor, Evans, Davies, Roberts, Walker, Wright, Hughes, Ó Briain, MacLeod, Khan, "
            "Ahmed, Clarke, Patel, Bell, Murray, Jones"
        ),
    ),
    "DE": (
        _split(
            "Lena, Jonas, Leon, Mia, Lukas, Hannah, Jürgen, Jörg, Sören, Anneliese, Felix, "
            "Emilia, Maximilian, Ömer, Zeynep, Käthe"
        ),
        _split(
            "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schäfer, Koch, "
            "Großmann, Hoffmann, Y\u0131lmaz, Krüger, Böhm, Weiß"
        ),
    ),
    "SG": (
        _split(
            "Wei Ling, Jun Jie, Hui Min, Siti, Nur Aisyah, Arjun, Kavitha, Ethan, Chloe, "
            "Muhammad, Xin Yi, Darren, Rachel, Zhi Hao"
        ),
        _split(
            "Tan, Lim, Lee, Ng, Ong, Wong, Goh, Chua, Koh, Teo, Rahman, Kumar, Nair, Binte Ismail"
        ),
    ),
    "JP": (
        _split(
            "Yūki, Haruto, Sōta, Yui, Aoi, Hina, Ren, Riku, Sakura, Kōki, Mei, Takumi, Yōko, Shōhei"
        ),
        _split(
            "Satō, Suzuki, Takahashi, Tanaka, Watanabe, Itō, Yamamoto, Nakamura, Kobayashi, Katō, "
            "Yoshida, Ōta, Saitō, Kondō"
        ),
    ),
    "BR": (
        _split(
            "João, Maria, Ana, Gabriel, Lucas, Júlia, Beatriz, Thiago, Letícia, Vinícius, Caio, "
            "Luíza, Heloísa, Otávio"
        ),
        _split(
            "Silva, Santos, Oliveira, Souza, Pereira, Conceição, Araújo, Gonçalves, Ribeiro, "
            "Simões, Magalhães, Assunção, Lima, Costa"
        ),
    ),
    "CA": (
        _split(
            "Liam, Olivia, Émilie, Mathéo, Chloé, Noah, Avery, Jérémie, Gabrielle, Ethan, Aanya, "
            "Mackenzie, Raphaël, Hélène"
        ),
        _split(
            "Tremblay, Gagnon, Roy, Côté, Bouchard, Gauthier, Smith, Brown, Martin, Lévesque, "
            "Singh, Campbell, Bélanger, Wong"
        ),
    ),
    "AU": (
        _split(
            "Charlotte, Olivia, Isla, Jack, William, Oliver, Matilda, Harrison, Zara, Lachlan, "
            "Mia, Cooper, Ruby, Kiara"
        ),
        _split(
            "Smith, Jones, Williams, Brown, Wilson, Taylor, Nguyen, Kelly, Papadopoulos, Ryan, "
            "Walker, Harris, Thompson, Mitchell"
        ),
    ),
    "IN": (
        _split(
            "Aarav, Vivaan, Aditya, Ananya, Diya, Saanvi, Ishaan, Kavya, Rohan, Priya, Arjun, "
            "Meera, Neha, Siddharth"
        ),
        _split(
            "Sharma, Verma, Gupta, Iyer, Reddy, Nair, Menon, Singh, Das, Mukherjee, Chatterjee, "
            "Patel, Rao, Kulkarni"
        ),
    ),
    "FR": (
        _split(
            "Léa, Chloé, Manon, Inès, Camille, Hugo, Théo, Louis, Raphaël, Noémie, Zoé, Gaël, "
            "Maël, Océane"
        ),
        _split(
            "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Lefèvre, Moreau, "
            "Girard, Bonnet, Faure, Mercier"
        ),
    ),
}


def _person_name(rng: random.Random, country: str) -> str:
    firsts, lasts = _NAMES.get(country, _NAMES["US"])
    return f"{_pick(rng, firsts)} {_pick(rng, lasts)}"


# ---------------------------------------------------------------------------------------------
# Catalog knowledge: which categories to sell, how to name and price them
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    """Per top-level-category knowledge used to make products look plausible."""

    weight: float
    price_cents: int  # median price
    sigma: float  # log-normal spread of prices
    grams: int  # median shipping weight
    adjectives: tuple[str, ...]
    descriptors: tuple[str, ...]  # material or brand-ish words
    axes: tuple[str, ...]
    hashtags: tuple[str, ...]
    palette: tuple[str, ...]
    shop_words: tuple[str, ...]
    niche: str  # creator niche word (handles, bios)
    blurbs: tuple[str, ...]
    branded: bool = False  # descriptors are brand names ("Voltix Wireless Earbud")


_BRANDISH = _split(
    "Nordvik, Lumen, Arcwave, Kinfolk, Harbor, Juniper, Summit, Cobalt, Meridian, Atlas, "
    "Fernwood, Solstice, Voltix, Pixelon, Sonora, Ironwood"
)

_GENERIC = _Profile(
    weight=1.0,
    price_cents=2500,
    sigma=0.6,
    grams=500,
    adjectives=("Classic", "Everyday", "Premium", "Essential", "Compact", "Durable"),
    descriptors=_BRANDISH,
    axes=("color",),
    hashtags=("#shopreelfinds", "#musthave", "#giftideas"),
    palette=("#5b6c8f", "#8f5b6c", "#6c8f5b", "#8f7a5b"),
    shop_words=("Goods", "Supply", "Trading"),
    niche="finds",
    blurbs=(
        "The {desc} {noun}, made to do exactly what it should.",
        "Built to last and easy to live with.",
    ),
    branded=True,
)

_PROFILES: dict[str, _Profile] = {
    "Apparel & Accessories": _Profile(
        weight=22.0,
        price_cents=3400,
        sigma=0.55,
        grams=350,
        adjectives=("Classic", "Everyday", "Vintage", "Essential", "Signature", "Minimal"),
        descriptors=("Organic Cotton", "Linen", "Merino Wool", "Cotton Twill", "Silk", "Wool"),
        axes=("size", "color"),
        hashtags=("#ootd", "#fashionfinds", "#styleinspo", "#outfitideas"),
        palette=("#c9a38b", "#2f3e46", "#b5838d", "#e5989b", "#6d6875", "#354f52"),
        shop_words=("Threads", "Apparel", "Outfitters", "Wardrobe", "Atelier"),
        niche="style",
        blurbs=(
            "Our {adj} {noun} in {desc}, made for everyday wear.",
            "Designed in small batches and finished by hand.",
            "Pre-washed for softness and made to keep its shape wash after wash.",
        ),
    ),
    "Home & Garden": _Profile(
        weight=18.0,
        price_cents=3900,
        sigma=0.7,
        grams=1200,
        adjectives=("Handmade", "Minimalist", "Modern", "Rustic", "Nordic", "Cozy", "Artisan"),
        descriptors=("Ceramic", "Oak", "Bamboo", "Stoneware", "Rattan", "Linen", "Brass"),
        axes=("color", "size_sml"),
        hashtags=("#homedecor", "#cozyhome", "#kitchenfinds", "#homeinspo"),
        palette=("#a3b18a", "#588157", "#dda15e", "#bc6c25", "#e9edc9", "#8d99ae"),
        shop_words=("Home Co.", "Living", "House", "Nest", "Homeware"),
        niche="home",
        blurbs=(
            "Our {adj} {noun}, designed to make life at home a little easier.",
            "Easy to clean and built for daily use.",
            "Thoughtfully designed and fairly priced.",
            "Backed by our one-year guarantee.",
        ),
    ),
    "Health & Beauty": _Profile(
        weight=15.0,
        price_cents=2200,
        sigma=0.55,
        grams=180,
        adjectives=("Gentle", "Daily", "Essential", "Everyday", "Travel", "Clinical"),
        descriptors=("Clean", "Eco", "Sensitive", "Compact", "Refillable"),
        axes=("pack", "color"),
        hashtags=("#skincare", "#beautyfinds", "#selfcare", "#glowup"),
        palette=("#ffcad4", "#f4acb7", "#9d8189", "#d8e2dc", "#ffe5d9", "#cdb4db"),
        shop_words=("Beauty", "Botanicals", "Skin Lab", "Apothecary", "Glow"),
        niche="glow",
        blurbs=(
            "Our {adj} {noun}, thoughtfully made in small batches.",
            "Cruelty free and fairly priced.",
            "Loved by thousands of customers.",
        ),
    ),
    "Electronics": _Profile(
        weight=10.0,
        price_cents=6900,
        sigma=0.8,
        grams=450,
        adjectives=("Wireless", "Compact", "Smart", "Pro", "Ultra-Slim", "Fast-Charging"),
        descriptors=("Voltix", "Arcwave", "Pixelon", "Sonora", "Nexa", "Kinetik"),
        axes=("color",),
        hashtags=("#techfinds", "#gadgets", "#desksetup", "#techtok"),
        palette=("#1b263b", "#415a77", "#0d1b2a", "#3a86ff", "#8338ec", "#222222"),
        shop_words=("Tech", "Electronics", "Gadgets", "Digital", "Labs"),
        niche="tech",
        blurbs=(
            "Meet the {desc} {noun}: {adj}, sleek and ready out of the box.",
            "Includes a 1-year limited warranty.",
            "Works out of the box with the devices you already own.",
        ),
        branded=True,
    ),
    "Toys & Games": _Profile(
        weight=7.0,
        price_cents=2400,
        sigma=0.6,
        grams=600,
        adjectives=("Classic", "Colorful", "Mini", "Deluxe", "Educational", "Glow-in-the-Dark"),
        descriptors=("Wooden", "Plush", "Magnetic", "Eco", "STEM"),
        axes=("color", "edition"),
        hashtags=("#toytok", "#kidsfinds", "#gamenight", "#playtime"),
        palette=("#ffbe0b", "#fb5607", "#ff006e", "#3a86ff", "#8ac926", "#ffca3a"),
        shop_words=("Toys", "Play Co.", "Games", "Toybox", "Playroom"),
        niche="play",
        blurbs=(
            "Our {adj} {noun}, made to keep little hands busy for hours.",
            "Tested to international toy-safety standards.",
            "A great gift for birthdays and holidays.",
        ),
    ),
    "Sporting Goods": _Profile(
        weight=7.0,
        price_cents=3900,
        sigma=0.75,
        grams=900,
        adjectives=("Pro", "Ultralight", "Trail", "Performance", "All-Weather", "Training"),
        descriptors=("Carbon", "Summit", "Recycled", "Alpine", "Ridge"),
        axes=("size_sml", "color"),
        hashtags=("#fitnessgear", "#outdoors", "#gymtok", "#hikingfinds"),
        palette=("#2a9d8f", "#264653", "#e76f51", "#f4a261", "#1d3557", "#457b9d"),
        shop_words=("Outdoors", "Athletics", "Sports", "Gear", "Outfitters"),
        niche="fit",
        blurbs=(
            "Our {adj} {noun}, built for training days and weekend adventures.",
            "Field tested by athletes and backed by our lifetime guarantee.",
        ),
    ),
    "Baby & Toddler": _Profile(
        weight=3.0,
        price_cents=2600,
        sigma=0.6,
        grams=500,
        adjectives=("Soft", "Gentle", "Cozy", "Snuggly", "Tiny", "Everyday"),
        descriptors=("Organic Cotton", "Muslin", "BPA-Free", "Silicone", "Bamboo"),
        axes=("color",),
        hashtags=("#momtok", "#babyfinds", "#newbornessentials", "#parenting"),
        palette=("#fde2e4", "#bee1e6", "#e2ece9", "#fad2e1", "#cddafd", "#f0efeb"),
        shop_words=("Baby", "Little Ones", "Nursery", "Kids"),
        niche="baby",
        blurbs=(
            "Our {adj} {noun}, gentle enough for the littlest ones.",
            "Parent approved and gift ready.",
        ),
    ),
    "Animals & Pet Supplies": _Profile(
        weight=3.0,
        price_cents=1900,
        sigma=0.6,
        grams=700,
        adjectives=("Durable", "Cozy", "Natural", "Adjustable", "Chew-Proof", "Washable"),
        descriptors=("Hemp", "Organic", "Recycled", "Waterproof", "Orthopedic"),
        axes=("pet_size", "color"),
        hashtags=("#dogsoftiktok", "#petfinds", "#catlover", "#petparents"),
        palette=("#b08968", "#7f5539", "#ddb892", "#e6ccb2", "#9c6644", "#606c38"),
        shop_words=("Pet Co.", "Paws", "Pet Supply", "Tails"),
        niche="pets",
        blurbs=(
            "Our {adj} {noun}, made for pets who play hard.",
            "Tested by our own dogs and cats before it reaches yours.",
        ),
    ),
    "Luggage & Bags": _Profile(
        weight=3.0,
        price_cents=6400,
        sigma=0.6,
        grams=1100,
        adjectives=("Weekender", "Carry-On", "Water-Resistant", "Everyday", "Expandable"),
        descriptors=("Vegan Leather", "Waxed Canvas", "Recycled Nylon", "Full-Grain Leather"),
        axes=("color",),
        hashtags=("#travelessentials", "#bagfinds", "#packwithme", "#travel"),
        palette=("#6b705c", "#a5a58d", "#cb997e", "#3d405b", "#81b29a", "#2b2d42"),
        shop_words=("Travel Co.", "Carry", "Bags", "Luggage"),
        niche="travel",
        blurbs=(
            "Our {adj} {noun} in {desc}, with plenty of pockets.",
            "Fits under most airline seats.",
        ),
    ),
    "Arts & Entertainment": _Profile(
        weight=3.0,
        price_cents=1900,
        sigma=0.7,
        grams=400,
        adjectives=("Handmade", "Vintage", "Festive", "Artist-Grade", "Limited-Edition"),
        descriptors=("Kraft", "Watercolor", "Hand-Dyed", "Glitter", "Studio"),
        axes=("color",),
        hashtags=("#craftok", "#diy", "#partyideas", "#artsupplies"),
        palette=("#ef476f", "#ffd166", "#06d6a0", "#118ab2", "#073b4c", "#f78c6b"),
        shop_words=("Craft Co.", "Studio", "Art Supply", "Party"),
        niche="crafts",
        blurbs=(
            "Our {adj} {noun}, for makers, crafters and party planners.",
            "Packed with care by our small team.",
        ),
    ),
    "Food, Beverages & Tobacco": _Profile(
        weight=2.5,
        price_cents=1200,
        sigma=0.5,
        grams=450,
        adjectives=("Small-Batch", "Organic", "Artisan", "Gourmet", "Family-Recipe"),
        descriptors=("Wildflower", "Single-Origin", "Hand-Roasted", "Smoked", "Heirloom"),
        axes=("flavor", "pack"),
        hashtags=("#foodtok", "#snackfinds", "#pantrygoals", "#foodie"),
        palette=("#e07a5f", "#f2cc8f", "#81b29a", "#3d405b", "#bc4749", "#f4a259"),
        shop_words=("Pantry", "Provisions", "Kitchen", "Farm"),
        niche="eats",
        blurbs=(
            "Our {adj} {desc} {noun}, made in small batches.",
            "No artificial colors or preservatives.",
        ),
    ),
    "Furniture": _Profile(
        weight=2.0,
        price_cents=22000,
        sigma=0.7,
        grams=15000,
        adjectives=("Mid-Century", "Modern", "Scandinavian", "Modular", "Rustic", "Compact"),
        descriptors=("Solid Oak", "Walnut", "Rattan", "Bouclé", "Velvet", "Teak"),
        axes=("color", "material"),
        hashtags=("#furniturefinds", "#interiordesign", "#apartmenttherapy", "#roomtour"),
        palette=("#b08968", "#ddb892", "#7f5539", "#606c38", "#283618", "#edede9"),
        shop_words=("Furniture", "Design", "Interiors", "Workshop"),
        niche="interiors",
        blurbs=(
            "Our {adj} {noun} in {desc}, sized for real homes.",
            "Ships flat-packed with everything you need to assemble it.",
        ),
    ),
    "Office Supplies": _Profile(
        weight=1.5,
        price_cents=1400,
        sigma=0.6,
        grams=400,
        adjectives=("Minimal", "Ergonomic", "Refillable", "Desk", "Premium"),
        descriptors=("Kraft", "Recycled", "Aluminum", "Cork", "Bamboo"),
        axes=("color", "pack"),
        hashtags=("#stationery", "#desksetup", "#studytok", "#wfh"),
        palette=("#cfd2cd", "#a6a2a2", "#847577", "#fbfbf2", "#e5e6e4", "#5e6472"),
        shop_words=("Paper Co.", "Stationery", "Office", "Desk"),
        niche="desk",
        blurbs=("Our {adj} {noun}, for a tidier desk.", "Made with recycled packaging."),
    ),
    "Cameras & Optics": _Profile(
        weight=1.2,
        price_cents=8900,
        sigma=0.9,
        grams=600,
        adjectives=("Compact", "Pro", "Weather-Sealed", "Lightweight", "Travel"),
        descriptors=("Pixelon", "Optiq", "Lumen", "Aperture", "Focal"),
        axes=("color",),
        hashtags=("#photography", "#camerafinds", "#filmphotography", "#creatorgear"),
        palette=("#0d1b2a", "#1b263b", "#778da9", "#e0e1dd", "#343a40", "#6c757d"),
        shop_words=("Camera", "Optics", "Photo", "Lens"),
        niche="photo",
        blurbs=(
            "Meet the {desc} {noun}, made for creators on the move.",
            "Backed by a 2-year warranty.",
        ),
        branded=True,
    ),
    "Hardware": _Profile(
        weight=1.2,
        price_cents=2900,
        sigma=0.8,
        grams=1500,
        adjectives=("Heavy-Duty", "Professional", "Cordless", "Rust-Proof", "Precision"),
        descriptors=("Ironwood", "Forge", "Steel", "Summit", "Titan"),
        axes=("size_sml",),
        hashtags=("#diyhome", "#toolsoftiktok", "#homeimprovement", "#workshop"),
        palette=("#e85d04", "#370617", "#6a040f", "#faa307", "#495057", "#212529"),
        shop_words=("Hardware", "Tool Co.", "Supply", "Workshop"),
        niche="diy",
        blurbs=("The {desc} {adj} {noun}, for projects big and small.", "Trusted by pros."),
        branded=True,
    ),
    "Media": _Profile(
        weight=1.0,
        price_cents=1800,
        sigma=0.5,
        grams=450,
        adjectives=("Collector's", "Illustrated", "Limited", "Deluxe", "Signed"),
        descriptors=("Hardcover", "Vinyl", "Paperback", "Remastered", "Anniversary"),
        axes=("edition",),
        hashtags=("#booktok", "#vinylcollection", "#mustread", "#bookhaul"),
        palette=("#3c1642", "#086375", "#1dd3b0", "#affc41", "#b2ff9e", "#5f0f40"),
        shop_words=("Books", "Records", "Media", "Press"),
        niche="books",
        blurbs=("Our {adj} {noun}, a must for any collection.", "Ships in protective packaging."),
    ),
    "Vehicles & Parts": _Profile(
        weight=1.0,
        price_cents=4500,
        sigma=0.8,
        grams=2000,
        adjectives=("Universal", "Heavy-Duty", "All-Weather", "OEM-Fit", "Performance"),
        descriptors=("Torque", "Roadline", "Motive", "Apex", "Carbon"),
        axes=("color",),
        hashtags=("#cartok", "#carfinds", "#roadtrip", "#bikelife"),
        palette=("#d00000", "#370617", "#212529", "#adb5bd", "#ffba08", "#3f88c5"),
        shop_words=("Auto", "Motor Co.", "Garage", "Parts"),
        niche="garage",
        blurbs=(
            "The {desc} {adj} {noun}, made to install in minutes.",
            "Check fit before ordering.",
        ),
        branded=True,
    ),
    "Software": _Profile(
        weight=0.3,
        price_cents=2900,
        sigma=0.7,
        grams=50,
        adjectives=("Pro", "Home", "Studio", "Essential"),
        descriptors=("Pixelon", "Nexa", "Cobalt", "Meridian"),
        axes=("edition",),
        hashtags=("#software", "#productivity", "#techtok"),
        palette=("#03045e", "#0077b6", "#00b4d8", "#90e0ef"),
        shop_words=("Software", "Digital", "Apps"),
        niche="apps",
        blurbs=("The {desc} {noun}, with a one-time license.", "Includes free updates."),
        branded=True,
    ),
    "Religious & Ceremonial": _Profile(
        weight=0.3,
        price_cents=2900,
        sigma=0.6,
        grams=300,
        adjectives=("Handcrafted", "Elegant", "Traditional", "Keepsake"),
        descriptors=("Lace", "Satin", "Brass", "Ivory"),
        axes=("color",),
        hashtags=("#weddingideas", "#bridetok", "#ceremony"),
        palette=("#f8edeb", "#fcd5ce", "#fec5bb", "#e8e8e4"),
        shop_words=("Ceremony", "Bridal", "Keepsakes"),
        niche="weddings",
        blurbs=("Our {adj} {noun}, for your special day.", "Gift-wrapped on request."),
    ),
}

# Subtrees that are never sold in the demo (regulated, industrial or not shoppable).
_EXCLUDED_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("Mature",),
    ("Business & Industrial",),
    ("Animals & Pet Supplies", "Live Animals"),
    ("Apparel & Accessories", "Costumes & Accessories", "Costume Accessories",
     "Costume Tobacco Products"),
    ("Arts & Entertainment", "Event Tickets"),
    ("Arts & Entertainment", "Hobbies & Creative Arts", "Collectibles", "Collectible Weapons"),
    ("Cameras & Optics", "Optics", "Scopes", "Weapon Scopes & Sights"),
    ("Cameras & Optics", "Camera & Optic Accessories", "Optic Accessories",
     "Weapon Scope & Sight Accessories"),
    ("Electronics", "Circuit Boards & Components"),
    ("Electronics", "Electronics Accessories", "Signal Jammers"),
    ("Electronics", "Radar Detectors"),
    ("Electronics", "Components"),
    ("Electronics", "Speed Radars"),
    ("Electronics", "Toll Collection Devices"),
    ("Food, Beverages & Tobacco", "Beverages", "Alcoholic Beverages"),
    ("Food, Beverages & Tobacco", "Tobacco Products"),
    ("Hardware", "Fuel"),
    ("Hardware", "Storage Tanks"),
    ("Health & Beauty", "Health Care", "Medicine & Drugs"),
    # Medical and intimate items make awkward demo content.
    ("Health & Beauty", "Health Care", "Acupuncture"),
    ("Health & Beauty", "Health Care", "Condoms"),
    ("Health & Beauty", "Health Care", "Contraceptive Cases"),
    ("Health & Beauty", "Health Care", "Incontinence Aids"),
    ("Health & Beauty", "Health Care", "Medical Tests"),
    ("Health & Beauty", "Health Care", "Spermicides"),
    ("Health & Beauty", "Health Care", "Surgical Lubricants"),
    ("Health & Beauty", "Personal Care", "Enema Kits & Supplies"),
    ("Health & Beauty", "Personal Care", "Feminine Sanitary Supplies"),
    ("Health & Beauty", "Personal Care", "Personal Lubricants"),
    ("Home & Garden", "Smoking Accessories"),
    ("Media", "Product Manuals"),
    ("Religious & Ceremonial", "Memorial Ceremony Supplies"),
    ("Software", "Digital Goods & Currency"),
    ("Sporting Goods", "Athletics", "Boxing & Martial Arts", "Martial Arts Weapons"),
    ("Sporting Goods", "Outdoor Recreation", "Hunting & Shooting"),
    ("Vehicles & Parts", "Vehicles"),
)  # fmt: skip

# Relative popularity of subtrees within their top-level category.
_SUBTREE_BOOSTS: dict[tuple[str, ...], float] = {
    ("Apparel & Accessories", "Clothing"): 3.0,
    ("Apparel & Accessories", "Shoes"): 2.5,
    ("Apparel & Accessories", "Jewelry"): 2.0,
    ("Apparel & Accessories", "Handbags, Wallets & Cases"): 2.0,
    ("Apparel & Accessories", "Costumes & Accessories"): 0.4,
    ("Home & Garden", "Decor"): 3.0,
    ("Home & Garden", "Kitchen & Dining"): 3.0,
    ("Home & Garden", "Linens & Bedding"): 2.0,
    ("Home & Garden", "Lighting"): 1.5,
    ("Home & Garden", "Flood, Fire & Gas Safety"): 0.2,
    ("Home & Garden", "Pool & Spa"): 0.3,
    ("Home & Garden", "Fireplaces"): 0.2,
    ("Home & Garden", "Wood Stoves"): 0.2,
    ("Home & Garden", "Household Appliance Accessories"): 0.4,
    ("Health & Beauty", "Personal Care"): 4.0,
    ("Health & Beauty", "Health Care"): 0.4,
    ("Health & Beauty", "Health Care", "Fitness & Nutrition"): 4.0,
    ("Health & Beauty", "Personal Care", "Cosmetics"): 4.0,
    ("Health & Beauty", "Personal Care", "Hair Care"): 2.0,
    ("Electronics", "Audio"): 3.0,
    ("Electronics", "Electronics Accessories"): 2.0,
    ("Electronics", "Communications"): 2.0,
    ("Electronics", "Computers"): 1.5,
    ("Electronics", "Video Game Consoles"): 1.5,
    ("Electronics", "Marine Electronics"): 0.2,
    ("Electronics", "Print, Copy, Scan & Fax"): 0.3,
    ("Electronics", "Arcade Equipment"): 0.3,
    ("Toys & Games", "Toys"): 2.0,
    ("Toys & Games", "Puzzles"): 1.5,
    ("Sporting Goods", "Exercise & Fitness"): 3.0,
    ("Sporting Goods", "Outdoor Recreation"): 1.5,
    ("Sporting Goods", "Athletics"): 0.7,
}

# Typical prices (median, cents) for categories whose path contains the key; the first match
# from the leaf upwards wins, otherwise the top-level profile's median applies.
_PRICE_HINTS: dict[str, int] = {
    "Laptops": 89_900,
    "Desktop Computers": 99_900,
    "Tablet Computers": 44_900,
    "Mobile Phones": 59_900,
    "Televisions": 49_900,
    "Video Game Consoles": 39_900,
    "Digital Cameras": 64_900,
    "Film Cameras": 24_900,
    "Headphones & Headsets": 8_900,
    "Speakers": 12_900,
    "Cables": 1_500,
    "Mobile Phone Cases": 2_400,
    "Household Appliances": 17_900,
    "Sofas": 89_900,
    "Beds & Accessories": 44_900,
    "Watches": 14_900,
    "Jewelry": 5_900,
    "Shoes": 8_900,
    "Handbags": 8_900,
    "Outerwear": 12_900,
    "Perfume & Cologne": 7_900,
    "Bicycles": 64_900,
    "Baby Strollers": 29_900,
    "Wedding Dresses": 39_900,
    "Suitcases": 14_900,
    "Kitchen Appliances": 8_900,
    "Fresh & Frozen Fruits": 600,
    "Fresh & Frozen Vegetables": 500,
}

# Option axes: axis key -> (display name, values, price multipliers per value or None).
_AXIS_TABLE: dict[str, tuple[str, tuple[str, ...], tuple[float, ...] | None]] = {
    "size": ("Size", ("XS", "S", "M", "L", "XL", "XXL"), (1, 1, 1, 1, 1.05, 1.1)),
    "shoe_size": ("Size", tuple(f"US {n}" for n in (5, 6, 7, 8, 9, 10, 11, 12, 13)), None),
    "kids_size": ("Size", ("0-3M", "3-6M", "6-12M", "12-18M", "2T", "3T", "4T"), None),
    "size_sml": ("Size", ("Small", "Medium", "Large", "Extra Large"), (1, 1.25, 1.5, 1.8)),
    "bed_size": ("Size", ("Twin", "Full", "Queen", "King"), (1, 1.2, 1.35, 1.55)),
    "pet_size": ("Size", ("XS", "S", "M", "L", "XL"), (1, 1.05, 1.15, 1.3, 1.45)),
    "color": (
        "Color",
        _split(
            "Black, White, Navy, Sage, Sand, Terracotta, Dusty Rose, Charcoal, Ivory, Forest "
            "Green, Mustard, Sky Blue, Lilac, Oat"
        ),
        None,
    ),
    "material": ("Material", ("Cotton", "Linen", "Velvet", "Bouclé", "Leather"), None),
    "metal": ("Material", ("Sterling Silver", "Gold Vermeil", "Rose Gold"), (1, 1.4, 1.4)),
    "length": ("Length", ('16"', '18"', '20"', '24"'), (1, 1.05, 1.1, 1.2)),
    "volume": ("Size", ("15 ml", "30 ml", "50 ml", "100 ml"), (0.6, 1, 1.45, 2.2)),
    "scent": ("Scent", ("Unscented", "Lavender", "Citrus", "Vanilla", "Sandalwood"), None),
    "shade": ("Shade", ("Fair", "Light", "Light Medium", "Medium", "Tan", "Deep", "Rich"), None),
    "storage": ("Storage", ("64 GB", "128 GB", "256 GB", "512 GB"), (1, 1.2, 1.45, 1.9)),
    "flavor": (
        "Flavor",
        ("Original", "Sea Salt", "Chili Lime", "Honey", "Dark Chocolate", "Matcha"),
        None,
    ),
    "pack": ("Pack Size", ("Single", "2-Pack", "4-Pack", "12-Pack"), (1, 1.85, 3.4, 9.0)),
    "edition": ("Edition", ("Standard", "Deluxe", "Collector's"), (1, 1.5, 2.4)),
}


@dataclass(frozen=True, slots=True)
class _Axis:
    name: str
    values: tuple[str, ...]
    multipliers: tuple[float, ...]
    ordered: bool  # variants take a contiguous run of values (sizes) instead of any subset


_AXES = {
    key: _Axis(
        name, values, tuple(map(float, mult or (1.0,) * len(values))), bool(mult or name == "Size")
    )
    for key, (name, values, mult) in _AXIS_TABLE.items()
}


@dataclass(frozen=True, slots=True)
class _Rule:
    """Naming and variant style for categories whose path contains one of ``keywords``."""

    keywords: tuple[str, ...]
    axes: tuple[str, ...]
    descriptors: tuple[str, ...] | None = None  # None keeps the top-level profile's
    adjectives: tuple[str, ...] | None = None
    branded: bool = False  # the descriptors are brand names


# First rule whose keyword equals a path element (below the root) wins.
_STYLE_RULES = (
    _Rule(
        ("Shoes", "Shoe Accessories"),
        ("shoe_size", "color"),
        _split("Leather, Suede, Canvas, Knit, Vegan Leather"),
        _split("Classic, Everyday, Lightweight, Retro, Platform, Cushioned"),
    ),
    _Rule(
        ("Jewelry",),
        ("metal", "length"),
        _split("Sterling Silver, Gold Vermeil, Freshwater Pearl, Rose Gold, Recycled Gold"),
        _split("Dainty, Minimal, Layered, Vintage, Statement, Everyday"),
    ),
    _Rule(
        ("Handbags, Wallets & Cases", "Handbag & Wallet Accessories"),
        ("color",),
        _split("Vegan Leather, Full-Grain Leather, Raffia, Canvas, Suede"),
        _split("Everyday, Mini, Structured, Slouchy, Classic, Convertible"),
    ),
    _Rule(
        ("Baby & Toddler Clothing",),
        ("kids_size", "color"),
        _split("Organic Cotton, Muslin, Ribbed Cotton, Bamboo"),
        _split("Soft, Cozy, Snuggly, Everyday, Playful"),
    ),
    _Rule(
        ("Clothing",),
        ("size", "color"),
        None,
        _split("Relaxed, Classic, Oversized, Everyday, Vintage, Slim-Fit, Lightweight"),
    ),
    _Rule(
        ("Linens & Bedding",),
        ("bed_size", "color"),
        _split("Organic Cotton, Stonewashed Linen, Bamboo, Percale, Sateen"),
    ),
    _Rule(
        (
            "Lawn & Garden",
            "Household Appliances",
            "Household Appliance Accessories",
            "Pool & Spa",
            "Business & Home Security",
            "Flood, Fire & Gas Safety",
            "Lighting Accessories",
        ),
        ("color",),
        _split("Greenline, Harbor, Ironwood, Summit, Lumen, Fernwood"),
        _split("Cordless, Heavy-Duty, Compact, Weatherproof, Smart, Quiet"),
        branded=True,
    ),
    _Rule(
        ("Kitchen & Dining",),
        ("color", "size_sml"),
        _split("Stainless Steel, Cast Iron, Ceramic, Acacia, Glass, Enamel"),
    ),
    _Rule(
        ("Skin Care", "Bath & Body", "Hair Care", "Perfume & Cologne"),
        ("volume", "scent"),
        _split("Hyaluronic, Vitamin C, Shea Butter, Rosewater, Niacinamide, Aloe"),
        _split("Hydrating, Gentle, Soothing, Radiant, Brightening, Nourishing"),
    ),
    _Rule(
        ("Cosmetics",),
        ("shade", "volume"),
        _split("Vegan, Mineral, Clean, Cruelty-Free"),
        _split("Long-Wear, Satin, Matte, Dewy, Sheer, Buildable"),
    ),
    _Rule(("Computers", "Mobile Phones", "Storage Devices"), ("storage", "color")),
    _Rule(
        ("Exercise & Fitness",),
        ("size_sml", "color"),
        _split("Non-Slip, Recycled, Adjustable, Studio"),
    ),
)

# Plural forms that stay as they are in a product title.
_KEEP_PLURAL = frozenset(
    _split(
        "accessories, binoculars, blocks, boxers, briefs, cards, checkers, chopsticks, clippers, "
        "clothes, cosmetics, crafts, darts, dentures, dice, dominoes, earbuds, earphones, "
        "electronics, essentials, eyeglasses, glasses, goggles, headphones, jeans, "
        "joggers, leggings, news, overalls, pajamas, pants, parts, pliers, pyjamas, "
        "scissors, series, shorts, skis, species, sunglasses, supplies, suspenders, "
        "sweatpants, swimwear, tights, tongs, trousers, tweezers"
    )
)
_IE_PLURAL = frozenset(
    _split(
        "beanies, booties, bowties, brownies, calories, cookies, dies, hoodies, lingeries, "
        "movies, neckties, onesies, pies, pixies, rookies, selfies, smoothies, ties, veggies, "
        "zombies"
    )
)
_IRREGULAR_PLURAL = {
    "lenses": "lens",
    "buses": "bus",
    "gases": "gas",
    "canvases": "canvas",
    "atlases": "atlas",
    "mice": "mouse",
    "teeth": "tooth",
    "feet": "foot",
    "children": "child",
    "knives": "knife",
    "shelves": "shelf",
    "scarves": "scarf",
    "leaves": "leaf",
    "halves": "half",
    "wolves": "wolf",
    "loaves": "loaf",
    "calves": "calf",
}
_S_ONLY_OES = frozenset({"shoes", "canoes", "hoes", "toes", "horseshoes", "snowshoes", "oboes"})


def _singular_word(word: str) -> str:
    lower = word.lower()
    if lower in _IRREGULAR_PLURAL:
        singular = _IRREGULAR_PLURAL[lower]
        return singular.capitalize() if word[0].isupper() else singular
    if len(word) <= 3 or not lower.endswith("s") or lower in _KEEP_PLURAL:
        return word
    if lower.endswith(("ss", "us", "is", "ics", "'s", "clothes")):
        return word
    if lower in _IE_PLURAL:
        return word[:-1]
    if lower.endswith("ies"):
        return word[:-3] + "y"
    if lower.endswith("oes"):
        return word[:-1] if lower in _S_ONLY_OES else word[:-2]
    if lower.endswith(("sses", "ches", "shes", "xes", "zzes")):
        return word[:-2]
    return word[:-1]


def _singular_phrase(phrase: str) -> str:
    words = phrase.split(" ")
    words[-1] = "-".join(_singular_word(part) for part in words[-1].split("-"))
    return " ".join(words)


def _noun_options(leaf_name: str) -> tuple[str, ...]:
    """Title nouns for a leaf category, e.g. ``"Shirts & Tops"`` -> ``("Shirt", "Top")``.

    Alternatives joined by ``&`` or commas are split unless a single-word alternative modifies
    a later multi-word one (``"Salt & Pepper Shakers"`` stays whole). Later single-word
    alternatives inherit the modifiers of a multi-word first one (``"Hair Clips & Barrettes"``
    -> ``"Hair Clip"``, ``"Hair Barrette"``).
    """
    parts = [p.strip() for p in re.split(r",\s*&?\s*|\s+&\s+|\s+and\s+", leaf_name) if p.strip()]
    if len(parts) <= 1:
        return (_singular_phrase(leaf_name),)
    word_counts = [len(p.split()) for p in parts]
    # "Salt & Pepper Shakers": a one-word alternative before a longer one is a modifier.
    # "Desktop Computer & Server Cases": a singular multi-word alternative before a plural one
    # shares the plural's head noun.
    shared_head = any(
        (word_counts[i] == 1 and any(n > 1 for n in word_counts[i + 1 :]))
        or (word_counts[i] > 1 and not parts[i].endswith("s") and parts[-1].endswith("s"))
        for i in range(len(parts) - 1)
    )
    if shared_head:
        return (_singular_phrase(leaf_name),)
    modifiers = " ".join(parts[0].split()[:-1])
    nouns = [parts[0]]
    for part in parts[1:]:
        nouns.append(part if len(part.split()) > 1 or not modifiers else f"{modifiers} {part}")
    return tuple(_singular_phrase(n) for n in nouns)


@dataclass(frozen=True, slots=True)
class _LeafStyle:
    price_cents: int
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    descriptors: tuple[str, ...]
    branded: bool
    axes: tuple[_Axis, ...]  # up to three, most important first
    tags: tuple[str, ...]  # from the category path
    extra_tags: tuple[str, ...]  # from the top-level profile
    sku_code: str
    sigma: float
    grams: int


def _lower_word(word: str) -> str:
    if len(word) > 1 and not word.isupper():
        return word.lower()
    return word


@functools.lru_cache(maxsize=16_384)
def _lower_words(text: str) -> str:
    """Lower-case words for running text, keeping acronyms: "BPA-Free Vitamin C" ->
    "BPA-free vitamin C"."""
    return " ".join("-".join(_lower_word(p) for p in w.split("-")) for w in text.split(" "))


@functools.lru_cache(maxsize=16_384)
def _shares_word(a: str, b: str) -> bool:
    words = {w.lower() for w in re.split(r"[\s-]+", a)}
    return bool(words & {w.lower() for w in re.split(r"[\s-]+", b)})


def _is_excluded(path: tuple[str, ...]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in _EXCLUDED_PREFIXES)


_GENERIC_TAGS = ("giftideas", "newarrival", "bestseller")
# Price endings: 60% x.99, 25% x.00, 10% x.95, 5% x.49.
_PRICE_ENDINGS = (99,) * 12 + (0,) * 5 + (95,) * 2 + (49,)
_BARCODE_MULTIPLIER = 7_919_370_563  # coprime with 10**11, so serial -> barcode is one-to-one


def _round_price(cents: float, ending: int) -> int:
    """Round to a retail price: ending 99 -> x.99, 0 -> x.00, otherwise x.<ending>."""
    dollars = max(1, round(cents / 100))
    if ending == 99:
        return dollars * 100 - 1
    if ending == 0:
        return dollars * 100
    return max(dollars - 1, 0) * 100 + ending


# ---------------------------------------------------------------------------------------------
# Internal per-entity "cores" (the parts other entities depend on)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RootInfo:
    category: Category
    profile: _Profile
    leaves: _Sampler  # leaf category ids


@dataclass(frozen=True, slots=True)
class _SellerCore:
    focus: tuple[int, ...]  # root indexes
    created_s: int  # seconds relative to EPOCH (negative)
    country: str


@dataclass(frozen=True, slots=True)
class _ProductCore:
    seller: int
    category_id: int
    root: int
    created_s: int


@dataclass(frozen=True, slots=True)
class _CreatorCore:
    niches: tuple[int, ...]
    country: str


@dataclass(frozen=True, slots=True)
class _VideoCore:
    creator: int
    root: int
    created_s: int
    duration_s: int
    tagged: tuple[int, ...]  # product indexes


@dataclass(slots=True)
class _ShopperState:
    id: str
    region: str
    utc_offset_s: int
    tastes: tuple[int, ...]  # preferred root indexes


# ---------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------


class DemoWorld:
    """A deterministic synthetic marketplace.

    Each iterator method streams its entities in index order and can be called any number of
    times with identical results. Ids are final (``shop_000000``, ``prod_0000000``,
    ``var_0000000_0``, ``cr_00000``, ``vid_000000``, ``shopper_000000``) so a writer can insert
    rows directly; references between entities always point at ids within the world's sizes.
    Seller 0 is the demo shop (handle ``demo-shop``) and creator 0 the demo creator (handle
    ``demo_creator``); both are US-based when the ``"us"`` region is enabled. ``regions``
    restricts which countries are generated (``("us",)`` -> only US, ``("intl",)`` -> no US).
    """

    SELLER_EXPONENT = 0.9
    PRODUCT_EXPONENT = 1.1
    CREATOR_EXPONENT = 1.0
    VIDEO_EXPONENT = 1.1
    SHOPPER_EXPONENT = 0.8

    def __init__(
        self,
        size: WorldSize,
        seed: int = 42,
        taxonomy: Taxonomy | None = None,
        regions: tuple[str, ...] = REGIONS,
    ) -> None:
        if not regions or any(r not in REGIONS for r in regions):
            raise ValueError(f"regions must be a non-empty subset of {REGIONS}, got {regions!r}")
        self.size = size
        self.seed = seed
        self.taxonomy = taxonomy if taxonomy is not None else default_taxonomy()
        self.regions = tuple(dict.fromkeys(regions))
        self._roots = self._build_roots()
        if not self._roots and size.products:
            raise ValueError("the taxonomy has no sellable leaf categories")
        self._root_sampler = (
            _Sampler(range(len(self._roots)), [r.profile.weight for r in self._roots])
            if self._roots
            else None
        )
        self._styles: dict[int, _LeafStyle] = {}
        self._country_pickers: dict[int, tuple[list[str], _Sampler]] = {}
        self._barcode_offset = _mix(seed, _K_BARCODE, 0) % 10**11
        self._seller_cores: list[_SellerCore] | None = None
        self._seller_sampler: _Sampler | None = None
        self._product_cores: list[_ProductCore] | None = None
        self._product_by_root: dict[int, _Sampler] | None = None
        self._product_global: _Sampler | None = None
        self._creator_cores: list[_CreatorCore] | None = None
        self._creator_sampler: _Sampler | None = None
        self._creator_rank: dict[int, int] = {}
        self._video_cores: list[_VideoCore] | None = None

    def __repr__(self) -> str:
        return f"DemoWorld(size={self.size!r}, seed={self.seed!r}, regions={self.regions!r})"

    # -- setup --------------------------------------------------------------------------------

    def _build_roots(self) -> list[_RootInfo]:
        taxonomy = self.taxonomy
        leaf_counts: dict[int, int] = {}

        def count(category: Category) -> int:
            if _is_excluded(category.path):
                total = 0
            else:
                kids = taxonomy.children(category.id)
                total = sum(count(k) for k in kids) if kids else 1
            leaf_counts[category.id] = total
            return total

        roots: list[_RootInfo] = []
        for root in taxonomy.roots():
            profile = _PROFILES.get(root.name, _GENERIC)
            if count(root) == 0 or profile.weight <= 0:
                continue
            leaves: list[int] = []
            weights: list[float] = []
            # Descend with weights sqrt(leaf count) x boost so big, obscure subtrees don't
            # dominate; a leaf's weight is the product of its branch probabilities.
            stack: list[tuple[Category, float]] = [(root, 1.0)]
            while stack:
                node, weight = stack.pop()
                kids = [k for k in taxonomy.children(node.id) if leaf_counts[k.id] > 0]
                if not kids:
                    leaves.append(node.id)
                    weights.append(weight)
                    continue
                raw = [
                    math.sqrt(leaf_counts[k.id]) * _SUBTREE_BOOSTS.get(k.path, 1.0) for k in kids
                ]
                total = sum(raw)
                stack.extend((k, weight * w / total) for k, w in zip(kids, raw, strict=True))
            order = sorted(range(len(leaves)), key=leaves.__getitem__)
            roots.append(
                _RootInfo(
                    root,
                    profile,
                    _Sampler([leaves[i] for i in order], [weights[i] for i in order]),
                )
            )
        return roots

    def _style(self, category_id: int) -> _LeafStyle:
        style = self._styles.get(category_id)
        if style is None:
            category = self.taxonomy.get(category_id)
            profile = _PROFILES.get(category.path[0], _GENERIC)
            descriptors, branded = profile.descriptors, profile.branded
            adjectives, axes = profile.adjectives, profile.axes
            for rule in _STYLE_RULES:
                if any(k in category.path[1:] for k in rule.keywords):
                    if rule.descriptors is not None:
                        descriptors, branded = rule.descriptors, rule.branded
                    adjectives = rule.adjectives or adjectives
                    axes = rule.axes
                    break
            tags = tuple(dict.fromkeys(slugify(p, "") for p in category.path[1:3]))
            nouns = _noun_options(category.name)
            price = next(
                (_PRICE_HINTS[p] for p in reversed(category.path) if p in _PRICE_HINTS),
                profile.price_cents,
            )
            keys = list(axes)
            for extra in ("color", "pack", "material"):  # fillers for three-axis products
                if len(keys) < 3 and all(_AXES[k].name != _AXES[extra].name for k in keys):
                    keys.append(extra)
            sku_code = (slugify(nouns[0], "")[:3] or "sku").upper()
            style = _LeafStyle(
                price,
                nouns,
                adjectives,
                descriptors,
                branded,
                tuple(_AXES[k] for k in keys[:3]),
                tags,
                (*(h.lstrip("#") for h in profile.hashtags[:2]), *_GENERIC_TAGS),
                sku_code,
                profile.sigma,
                profile.grams,
            )
            self._styles[category_id] = style
        return style

    def _rng(self, kind: int, index: int) -> random.Random:
        return random.Random(_mix(self.seed, kind, index))

    def _ranked(self, kind: int, count: int, boosts: dict[int, float] | None = None) -> list[int]:
        """Indexes ``0..count-1`` in a seed-dependent popularity order (most popular first)."""
        scale = 1.0 / float(1 << 64)

        def score(index: int) -> float:
            value = (_mix(self.seed, kind, index) + 1) * scale
            return value / (boosts.get(index, 1.0) if boosts else 1.0)

        return sorted(range(count), key=score)

    def _country(self, rng: random.Random, weights: dict[str, float]) -> str:
        """A country drawn from ``weights``, restricted to the world's regions."""
        picker = self._country_pickers.get(id(weights))
        if picker is None:
            countries = [c for c in weights if ("us" if c == "US" else "intl") in self.regions]
            sampler = _Sampler(range(len(countries)), [weights[c] for c in countries])
            picker = self._country_pickers[id(weights)] = (countries, sampler)
        countries, sampler = picker
        return countries[sampler.sample(rng)]

    # -- sellers ------------------------------------------------------------------------------

    def _seller_core_from(self, rng: random.Random, index: int) -> _SellerCore:
        country = self._country(rng, _SELLER_COUNTRIES)
        created_s = -rng.randrange(20 * _DAY, 730 * _DAY)
        if self._root_sampler is None:
            return _SellerCore((), created_s, country)
        focus = [self._root_sampler.sample(rng)]
        if rng.random() < 0.35:
            second = self._root_sampler.sample(rng)
            if second != focus[0]:
                focus.append(second)
        if index == 0:
            # The demo shop is a lifestyle shop: clothing and home first when available.
            names = [r.category.name for r in self._roots]
            preferred = [
                names.index(n) for n in ("Apparel & Accessories", "Home & Garden") if n in names
            ]
            focus = preferred or focus
            country = "US" if "us" in self.regions else "SG"
            created_s = -540 * _DAY
        return _SellerCore(tuple(focus), created_s, country)

    def _ensure_sellers(self) -> list[_SellerCore]:
        if self._seller_cores is None:
            count = self.size.sellers
            self._seller_cores = [
                self._seller_core_from(self._rng(_K_SELLER, i), i) for i in range(count)
            ]
            ranked = self._ranked(_K_RANK_SELLER, count)
            if count > 3:  # the demo shop is one of the bigger shops
                ranked.remove(0)
                ranked.insert(2, 0)
            self._seller_sampler = _zipf(ranked, self.SELLER_EXPONENT) if count else None
        return self._seller_cores

    def _seller(self, index: int) -> DemoSeller:
        rng = self._rng(_K_SELLER, index)
        core = self._seller_core_from(rng, index)
        profile = self._roots[core.focus[0]].profile if core.focus else _GENERIC
        if index == 0:
            name, handle = "Demo Shop", "demo-shop"
        else:
            prefix = _pick(rng, _SHOP_PREFIXES)
            word = _pick(rng, profile.shop_words)
            name = f"{prefix} {word}"
            if rng.random() < 0.3 and not word.endswith("."):
                name += _pick(rng, (" Co.", " Studio", " Collective", " & Co."))
            handle = f"{slugify(name)}-{index}"
        city = _pick(rng, _CITIES[core.country])
        focus_names = [self._roots[r].category.name for r in core.focus]
        what = " and ".join(n.lower() for n in focus_names) or "everyday goods"
        description = (
            f"{name} is an independent shop from {city}, {_COUNTRY_NAMES[core.country]}, "
            f"selling {what}. " + _pick(rng, _SHOP_TAGLINES)
        )
        return DemoSeller(
            id=f"shop_{index:06d}",
            handle=handle,
            name=name,
            description=description,
            owner_email=f"seller{index}@{DEMO_EMAIL_DOMAIN}",
            country=core.country,
            region="us" if core.country == "US" else "intl",
            created_at=_at(core.created_s),
        )

    def sellers(self) -> Iterator[DemoSeller]:
        for index in range(self.size.sellers):
            yield self._seller(index)

    # -- products -----------------------------------------------------------------------------

    def _product_core_from(self, rng: random.Random) -> _ProductCore:
        sellers = self._ensure_sellers()
        assert self._seller_sampler is not None  # WorldSize: products need sellers
        seller = self._seller_sampler.sample(rng)
        seller_core = sellers[seller]
        if seller_core.focus and rng.random() < 0.8:
            root = seller_core.focus[rng.randrange(len(seller_core.focus))]
        else:
            assert self._root_sampler is not None
            root = self._root_sampler.sample(rng)
        category_id = self._roots[root].leaves.sample(rng)
        # Between the shop's opening and a day before EPOCH, with more older products.
        span = -_DAY - seller_core.created_s
        created_s = seller_core.created_s + int(span * rng.random() ** 1.4)
        return _ProductCore(seller, category_id, root, created_s)

    def _ensure_products(self) -> list[_ProductCore]:
        if self._product_cores is None:
            self._product_cores = [
                self._product_core_from(self._rng(_K_PRODUCT, i)) for i in range(self.size.products)
            ]
            ranked = self._ranked(_K_RANK_PRODUCT, self.size.products)
            by_root: dict[int, list[int]] = {}
            for index in ranked:
                by_root.setdefault(self._product_cores[index].root, []).append(index)
            self._product_by_root = {
                root: _zipf(items, self.PRODUCT_EXPONENT) for root, items in by_root.items()
            }
            self._product_global = _zipf(ranked, self.PRODUCT_EXPONENT) if ranked else None
        return self._product_cores

    def _product(self, index: int, with_variants: bool = True) -> DemoProduct:
        rng = self._rng(_K_PRODUCT, index)
        core = self._product_core_from(rng)
        profile = self._roots[core.root].profile
        style = self._style(core.category_id)
        noun = _pick(rng, style.nouns)
        adjective = _pick(rng, style.adjectives)
        descriptor = _pick(rng, style.descriptors)
        if style.branded:
            title = f"{descriptor} {adjective} {noun}"
        elif rng.random() < 0.85 and not _shares_word(noun, descriptor):
            title = f"{adjective} {descriptor} {noun}"
        else:
            title = f"{adjective} {noun}"
        fill = {
            "adj": _lower_words(adjective),
            "desc": descriptor if style.branded else _lower_words(descriptor),
            "noun": _lower_words(noun),
        }
        first, *others = profile.blurbs
        description = first.format(**fill)
        if others:
            description += " " + _pick(rng, others).format(**fill)
        description = description[0].upper() + description[1:]
        tag_pool = list(
            dict.fromkeys(
                (
                    *style.tags,
                    slugify(noun, ""),
                    slugify(descriptor, ""),
                    slugify(adjective, ""),
                    *style.extra_tags,
                )
            )
        )
        wanted = min(len(tag_pool), 2 + int(rng.random() * 4))
        for i in range(wanted):  # partial Fisher-Yates shuffle: `wanted` distinct tags
            j = i + int(rng.random() * (len(tag_pool) - i))
            tag_pool[i], tag_pool[j] = tag_pool[j], tag_pool[i]
        tags = tuple(tag_pool[:wanted])
        return DemoProduct(
            id=f"prod_{index:07d}",
            seller_id=f"shop_{core.seller:06d}",
            title=title,
            description=description,
            category_id=core.category_id,
            tags=tags,
            status="live",
            created_at=_at(core.created_s),
            variants=self._variants(rng, index, style) if with_variants else [],
        )

    def _variants(self, rng: random.Random, product: int, style: _LeafStyle) -> list[DemoVariant]:
        random_ = rng.random
        # 30% single-variant products, otherwise 1-3 option axes with at most 12 combinations.
        roll = random_()
        n_axes = 0 if roll < 0.3 else 1 if roll < 0.72 else 2 if roll < 0.95 else 3
        axes = style.axes[:n_axes]
        budget = 12
        per_axis: list[list[tuple[str, str, float]]] = []
        for k, axis in enumerate(axes):
            size = len(axis.values)
            most = max(1, min(size, budget >> (len(axes) - k - 1)))
            # Mostly few values per axis, occasionally many.
            count = most if most < 2 else 2 + int(random_() ** 2.5 * (most - 1))
            if axis.ordered:
                start = int(random_() * (size - count + 1))
                picked: Iterable[int] = range(start, start + count)
            else:
                picked = sorted(rng.sample(range(size), count))
            per_axis.append([(axis.name, axis.values[i], axis.multipliers[i]) for i in picked])
            budget //= count

        base = style.price_cents * math.exp(rng.gauss(0.0, style.sigma))
        ending = _PRICE_ENDINGS[int(random_() * len(_PRICE_ENDINGS))]
        markup = 1.15 + random_() * 0.45 if random_() < 0.3 else 0.0  # 30% are on sale
        grams = style.grams * math.exp(rng.gauss(0.0, 0.5))
        code = style.sku_code
        offset = self._barcode_offset
        number = f"{product:07d}"
        variants: list[DemoVariant] = []
        for n, combo in enumerate(itertools.product(*per_axis)):
            factor = 1.0
            options: dict[str, str] = {}
            for name, value, multiplier in combo:
                options[name] = value
                factor *= multiplier
            price = _round_price(base * factor, ending)
            compare_at: int | None = None
            if markup:
                compare_at = max(
                    _round_price(price * markup, 99 if ending == 99 else 0), price + 100
                )
            first12 = f"2{((product * 100 + n) * _BARCODE_MULTIPLIER + offset) % 10**11:011d}"
            variants.append(
                DemoVariant(
                    id=f"var_{number}_{n}",
                    sku=f"{code}-{number}-{n:02d}",
                    options=options,
                    price_cents=price,
                    compare_at_cents=compare_at,
                    currency="USD",
                    weight_grams=max(5, int(grams * (factor if factor < 3 else factor**0.8))),
                    barcode=first12 + str(ean13_check_digit(first12)),
                )
            )
        return variants

    def products(self) -> Iterator[DemoProduct]:
        for index in range(self.size.products):
            yield self._product(index)

    # -- creators -----------------------------------------------------------------------------

    def _creator_core_from(self, rng: random.Random, index: int) -> _CreatorCore:
        country = self._country(rng, _CREATOR_COUNTRIES)
        niches: list[int] = []
        if self._root_sampler is not None:
            niches.append(self._root_sampler.sample(rng))
            if rng.random() < 0.4:
                second = self._root_sampler.sample(rng)
                if second != niches[0]:
                    niches.append(second)
        if index == 0 and "us" in self.regions:
            country = "US"
        return _CreatorCore(tuple(niches), country)

    def _ensure_creators(self) -> list[_CreatorCore]:
        if self._creator_cores is None:
            count = self.size.creators
            self._creator_cores = [
                self._creator_core_from(self._rng(_K_CREATOR, i), i) for i in range(count)
            ]
            ranked = self._ranked(_K_RANK_CREATOR, count)
            if count > 5:  # the demo creator is a well-followed account
                ranked.remove(0)
                ranked.insert(4, 0)
            self._creator_rank = {creator: rank for rank, creator in enumerate(ranked)}
            self._creator_sampler = _zipf(ranked, self.CREATOR_EXPONENT) if count else None
        return self._creator_cores

    def _creator(self, index: int) -> DemoCreator:
        rng = self._rng(_K_CREATOR, index)
        core = self._creator_core_from(rng, index)
        profile = self._roots[core.niches[0]].profile if core.niches else _GENERIC
        name = _person_name(rng, core.country)
        if index == 0:
            name, handle = "Demo Creator", "demo_creator"
        else:
            first = slugify(name.split(" ")[0], "") or "creator"
            handle = f"{first}{_pick(rng, ('', '.', '_'))}{profile.niche}{index}"
        city = _pick(rng, _CITIES[core.country])
        topics = " + ".join(self._roots[n].profile.niche for n in core.niches) or "finds"
        bio = _pick(rng, _BIOS).format(topics=topics, city=city)
        return DemoCreator(
            id=f"cr_{index:05d}",
            handle=handle,
            display_name=name,
            bio=bio,
            country=core.country,
            region="us" if core.country == "US" else "intl",
            user_email=f"creator{index}@{DEMO_EMAIL_DOMAIN}",
        )

    def creators(self) -> Iterator[DemoCreator]:
        for index in range(self.size.creators):
            yield self._creator(index)

    # -- videos -------------------------------------------------------------------------------

    def _video_core_from(self, rng: random.Random) -> _VideoCore:
        creators = self._ensure_creators()
        products = self._ensure_products()
        assert self._creator_sampler is not None  # WorldSize: videos need creators
        creator = self._creator_sampler.sample(rng)
        niches = creators[creator].niches
        root = niches[rng.randrange(len(niches))] if niches else -1
        created_s = -int(_VIDEO_WINDOW_DAYS * _DAY * rng.random() ** 1.5) - 3600
        duration_s = int(min(90.0, max(5.0, math.exp(rng.gauss(math.log(24.0), 0.6)))))
        tagged: list[int] = []
        if products:
            wanted = rng.choices((0, 1, 2, 3), weights=(20, 45, 25, 10))[0]
            sampler = (self._product_by_root or {}).get(root, self._product_global)
            for _ in range(wanted * 3):
                if len(tagged) >= wanted or sampler is None:
                    break
                product = sampler.sample(rng)
                if product not in tagged and products[product].created_s < created_s:
                    tagged.append(product)
        return _VideoCore(creator, root, created_s, duration_s, tuple(tagged))

    def _ensure_videos(self) -> list[_VideoCore]:
        if self._video_cores is None:
            self._video_cores = [
                self._video_core_from(self._rng(_K_VIDEO, i)) for i in range(self.size.videos)
            ]
        return self._video_cores

    def _video(self, index: int) -> DemoVideo:
        rng = self._rng(_K_VIDEO, index)
        core = self._video_core_from(rng)
        creator_core = self._ensure_creators()[core.creator]
        profile = self._roots[core.root].profile if core.root >= 0 else _GENERIC
        tags = [_pick(rng, profile.hashtags)]
        for _ in range(rng.choices((0, 1, 2), weights=(30, 50, 20))[0]):
            extra = _pick(rng, (*profile.hashtags, *_GENERIC_HASHTAGS))
            if extra not in tags:
                tags.append(extra)
        if core.tagged:
            product = self._product(core.tagged[0], with_variants=False)
            nouns = self._style(product.category_id).nouns
            noun = next((n for n in nouns if product.title.endswith(n)), nouns[0])
            caption = _pick(rng, _PRODUCT_HOOKS).format(
                title=product.title, noun=_lower_words(noun)
            )
        else:
            caption = _pick(rng, _NICHE_HOOKS).format(niche=profile.niche)
        base = profile.palette[rng.randrange(len(profile.palette))]
        rgb = [max(0, min(255, int(base[i : i + 2], 16) + rng.randint(-18, 18))) for i in (1, 3, 5)]
        return DemoVideo(
            id=f"vid_{index:06d}",
            creator_id=f"cr_{core.creator:05d}",
            caption=f"{caption} {' '.join(tags)}",
            hashtags=tuple(tags),
            tagged_product_ids=tuple(f"prod_{p:07d}" for p in core.tagged),
            duration_s=core.duration_s,
            created_at=_at(core.created_s),
            poster_seed=rng.getrandbits(31),
            dominant_color="#{:02x}{:02x}{:02x}".format(*rgb),
            region="us" if creator_core.country == "US" else "intl",
        )

    def videos(self) -> Iterator[DemoVideo]:
        for index in range(self.size.videos):
            yield self._video(index)

    # -- shoppers -----------------------------------------------------------------------------

    def _shopper(self, index: int) -> DemoShopper:
        rng = self._rng(_K_SHOPPER, index)
        country = self._country(rng, _SHOPPER_COUNTRIES)
        return DemoShopper(
            id=f"shopper_{index:06d}",
            email=f"shopper{index}@{DEMO_EMAIL_DOMAIN}",
            display_name=_person_name(rng, country),
            country=country,
            region="us" if country == "US" else "intl",
        )

    def shoppers(self) -> Iterator[DemoShopper]:
        for index in range(self.size.shoppers):
            yield self._shopper(index)

    # -- interactions -------------------------------------------------------------------------

    def interactions(self) -> Iterator[DemoInteraction]:
        """A stream of exactly ``size.interactions`` engagement events (fewer only when the
        world has no shoppers, or neither videos nor products)."""
        total = self.size.interactions
        if total <= 0:
            return
        yield from islice(self._interaction_stream(), total)

    def _shopper_state(self, index: int, taste: _Sampler | None) -> _ShopperState:
        """Hidden per-shopper traits: time zone and 2-3 preferred top-level categories."""
        rng = self._rng(_K_SHOPPER, index)
        country = self._country(rng, _SHOPPER_COUNTRIES)  # the same first draw as _shopper()
        rng.seed(_mix(self.seed, _K_SHOPPER_TASTE, index))
        offsets = _UTC_OFFSETS[country]
        offset_s = int(offsets[int(rng.random() * len(offsets))] * 3600)
        tastes: list[int] = []
        if taste is not None:
            wanted = min(len(taste), 2 if rng.random() < 0.6 else 3)
            for _ in range(20):
                root = taste.sample(rng)
                if root not in tastes:
                    tastes.append(root)
                    if len(tastes) == wanted:
                        break
        region = "us" if country == "US" else "intl"
        return _ShopperState(f"shopper_{index:06d}", region, offset_s, tuple(tastes))

    def _interaction_stream(self) -> Iterator[DemoInteraction]:
        size = self.size
        if not size.shoppers or not (size.videos or size.products):
            return
        products = self._ensure_products()
        videos = self._ensure_videos()
        product_ids = [f"prod_{i:07d}" for i in range(len(products))]
        video_ids = [f"vid_{i:06d}" for i in range(len(videos))]
        product_created = [p.created_s for p in products]
        video_created = [v.created_s for v in videos]
        video_ms = [v.duration_s * 1000 for v in videos]
        video_tags = [v.tagged for v in videos]

        # Video popularity: a Zipf law over a seed-dependent order in which videos of popular
        # creators tend to come first; also per top-level category for shopper tastes.
        creator_rank = self._creator_rank
        boosts = {i: 1.0 / math.sqrt(1 + creator_rank[v.creator]) for i, v in enumerate(videos)}
        ranked_videos = self._ranked(_K_RANK_VIDEO, len(videos), boosts)
        by_root: dict[int, list[int]] = {}
        for index in ranked_videos:
            by_root.setdefault(videos[index].root, []).append(index)
        video_by_root = {r: _zipf(items, self.VIDEO_EXPONENT) for r, items in by_root.items()}
        video_global = _zipf(ranked_videos, self.VIDEO_EXPONENT) if videos else None
        product_by_root = self._product_by_root or {}
        product_global = self._product_global

        # Tastes follow category popularity (share of videos, or of products without videos).
        counts = (
            {r: len(v) for r, v in by_root.items()}
            if videos
            else {r: len(sampler) for r, sampler in product_by_root.items()}
        )
        taste = _Sampler(counts, counts.values()) if counts else None
        shopper_sampler = _zipf(self._ranked(_K_RANK_SHOPPER, size.shoppers), self.SHOPPER_EXPONENT)
        states: dict[int, _ShopperState] = {}

        rng = self._rng(_K_INTERACTIONS, 0)
        random_ = rng.random
        expovariate = rng.expovariate
        hour_sampler = _Sampler(range(24), _HOUR_WEIGHTS)
        window = _INTERACTION_WINDOW_DAYS * _DAY
        p_browse = 0.05 if videos else 1.0
        at = _at
        emit = DemoInteraction  # local alias for the hot loop

        while True:
            shopper_index = shopper_sampler.sample(rng)
            shopper = states.get(shopper_index)
            if shopper is None:
                shopper = states[shopper_index] = self._shopper_state(shopper_index, taste)
            sid, region, tastes = shopper.id, shopper.region, shopper.tastes
            n_tastes = len(tastes)
            local_s = hour_sampler.sample(rng) * 3600 + int(random_() * 3600)
            day = int(random_() * _INTERACTION_WINDOW_DAYS)
            t = -window + day * _DAY + local_s - shopper.utc_offset_s
            if t < -window:
                t += _DAY
            elif t > -1800:
                t -= _DAY

            if video_global is not None:
                for _ in range(1 + int(expovariate(1 / 7.0))):
                    on_topic = n_tastes > 0 and random_() < 0.8
                    sampler = (
                        video_by_root[tastes[int(random_() * n_tastes)]]
                        if on_topic
                        else video_global
                    )
                    video = sampler.items[bisect_right(sampler.cum, random_() * sampler.total)]
                    if video_created[video] > t:  # not posted yet: one more try
                        video = sampler.sample(rng)
                        if video_created[video] > t:
                            continue
                    vid = video_ids[video]
                    yield emit(sid, region, "impression", vid, None, None, at(min(t, -1)))
                    t += 1 + int(random_() * 4)
                    if random_() >= (0.38 if on_topic else 0.14):
                        continue
                    watched = max(1000, int(video_ms[video] * min(3.0, random_() ** 0.6 * 1.4)))
                    yield emit(sid, region, "view", vid, None, watched, at(min(t, -1)))
                    t += watched // 1000
                    affinity = 1.0 if on_topic else 0.4
                    if random_() < 0.11 * affinity:
                        yield emit(sid, region, "like", vid, None, None, at(min(t, -1)))
                    if random_() < 0.02 * affinity:
                        yield emit(sid, region, "share", vid, None, None, at(min(t + 2, -1)))
                    if random_() < 0.012 * affinity:
                        yield emit(sid, region, "follow", vid, None, None, at(min(t + 3, -1)))
                    tagged = video_tags[video]
                    if tagged and random_() < 0.05 * affinity:
                        pid = product_ids[tagged[int(random_() * len(tagged))]]
                        t += 2
                        yield emit(sid, region, "product_click", vid, pid, None, at(min(t, -1)))
                        if random_() < 0.3:
                            t += 20 + int(random_() * 120)
                            yield emit(sid, region, "add_to_cart", vid, pid, None, at(min(t, -1)))
                            if random_() < 0.4:
                                t += 30 + int(random_() * 300)
                                yield emit(sid, region, "purchase", vid, pid, None, at(min(t, -1)))
                    t += 1

            if product_global is not None and random_() < p_browse:
                # Browsing the shop tab directly: product pages without a video.
                for _ in range(1 + int(expovariate(1.0))):
                    root = tastes[int(random_() * n_tastes)] if n_tastes else -1
                    product = product_by_root.get(root, product_global).sample(rng)
                    if product_created[product] > t:
                        continue
                    pid = product_ids[product]
                    t += 5 + int(random_() * 40)
                    yield emit(sid, region, "product_click", None, pid, None, at(min(t, -1)))
                    if random_() < 0.25:
                        t += 20 + int(random_() * 120)
                        yield emit(sid, region, "add_to_cart", None, pid, None, at(min(t, -1)))
                        if random_() < 0.35:
                            t += 30 + int(random_() * 300)
                            yield emit(sid, region, "purchase", None, pid, None, at(min(t, -1)))

    # -- fixed logins -------------------------------------------------------------------------

    def fixed_logins(self) -> list[DemoLogin]:
        """The five documented demo accounts (independent of seed and sizes)."""
        return list(_FIXED_LOGINS)


_SHOP_PREFIXES = _split(
    "Lumen, Wild Fern, Northbay, Copper, Juniper, Saltwater, Maple & Moss, Golden Hour, Urban, "
    "Kindred, Bright, Little, Pine, Harbor, Sol, Velvet, Cobalt, Meadow, Atlas, Nova, Honeycomb, "
    "Tidal, Ember, Willow, Fable, Oak & Ivory, Mosaic, Paper Moon, Blue Heron, Sunday, Canyon, "
    "Marigold"
)
_SHOP_TAGLINES = (
    "Small batches, shipped fast.",
    "Every order is packed by hand.",
    "Free returns within 30 days.",
    "Thoughtfully made, fairly priced.",
    "Family owned since day one.",
    "Plastic-free packaging on every order.",
)
_BIOS = (
    "Daily {topics} finds | {city}",
    "Sharing the {topics} things I actually use. Based in {city}.",
    "{topics} on a budget | links below",
    "Honest reviews, no fluff. {city} · {topics}",
    "Your {topics} bestie. New video every day!",
)
_GENERIC_HASHTAGS = ("#shopreelfinds", "#fyp", "#haul", "#musthave", "#review", "#unboxing")
_PRODUCT_HOOKS = (
    "Obsessed with this {title}!",
    "Run, don't walk: the {title} is back in stock.",
    "3 ways to use my {title}",
    "Unboxing the {title}",
    "Honest review of the {title} after a month",
    "POV: you finally found the perfect {noun}",
    "This {noun} lives rent-free in my head",
    "Is the {title} worth it? Let's see.",
)
_NICHE_HOOKS = (
    "My weekly {niche} routine",
    "Things in my {niche} era I'd buy again",
    "Rating viral {niche} trends so you don't have to",
    "Reset day: {niche} edition",
    "Answering your {niche} questions",
)

_FIXED_LOGINS = (
    DemoLogin(
        email=f"shopper@{DEMO_EMAIL_DOMAIN}",
        password=DEMO_PASSWORD,
        role="shopper",
        country="US",
        region="us",
        jurisdiction=None,
        display_name="Demo Shopper",
        description=(
            "US shopper with a seeded viewing history: cart and checkout (sandbox card "
            "4242 4242 4242 4242), My orders, account, API tokens, Your data."
        ),
    ),
    DemoLogin(
        email=f"seller@{DEMO_EMAIL_DOMAIN}",
        password=DEMO_PASSWORD,
        role="seller",
        country="US",
        region="us",
        jurisdiction=None,
        display_name="Demo Seller",
        description="Owns the shop 'demo-shop' (shop_000000) and its seeded products.",
    ),
    DemoLogin(
        email=f"creator@{DEMO_EMAIL_DOMAIN}",
        password=DEMO_PASSWORD,
        role="creator",
        country="US",
        region="us",
        jurisdiction=None,
        display_name="Demo Creator",
        description="Creator 'demo_creator' (cr_00000) with seeded videos.",
    ),
    DemoLogin(
        email=f"trust.us@{DEMO_EMAIL_DOMAIN}",
        password=DEMO_PASSWORD,
        role="staff",
        country="US",
        region="us",
        jurisdiction="US",
        display_name="US Trust Officer",
        description="US trust officer: /trust; reads US personal data with a purpose.",
        staff_roles=("trust_officer",),
    ),
    DemoLogin(
        email=f"hq@{DEMO_EMAIL_DOMAIN}",
        password=DEMO_PASSWORD,
        role="staff",
        country="SG",
        region="intl",
        jurisdiction="SG",
        display_name="HQ Staff (Singapore)",
        description="Non-US HQ analyst: /trust; US personal data denied, aggregates only.",
        staff_roles=("analyst",),
    ),
    DemoLogin(
        email=f"ops.us@{DEMO_EMAIL_DOMAIN}",
        password=DEMO_PASSWORD,
        role="staff",
        country="US",
        region="us",
        jurisdiction="US",
        display_name="US Marketplace Ops",
        description="US seller and listing reviewer: /staff/sellers, /staff/listings.",
        staff_roles=("seller_ops", "catalog_reviewer"),
    ),
)
