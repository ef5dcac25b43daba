"""Product catalog reference data: the Google product taxonomy shipped with ShopReel."""
