"""Demo data: a realistic product's raw capture data, bulk-loaded for trying heapsite out and for benchmarks."""
