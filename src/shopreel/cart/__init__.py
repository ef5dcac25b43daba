"""Cart: a buyer's multi-seller cart (regional plane)."""
