"""The warehouse sync engine: builds each environment's schema from the raw store (docs/warehouse.md)."""
