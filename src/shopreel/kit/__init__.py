"""Domain-free helpers: ids, time, money, pagination."""
