"""Content: creators' public profiles and short videos (metadata in the global plane)."""
