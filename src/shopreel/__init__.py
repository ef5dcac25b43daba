"""ShopReel: social commerce with sovereign personal data."""

__version__ = "0.1.0"
