"""Orders: one order per seller per paid checkout (regional plane)."""
