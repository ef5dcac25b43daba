"""Seller warehouses and stock per variant per warehouse, with a movement journal."""
