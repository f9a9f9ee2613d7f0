"""The demo site under /demo/: a small product website carrying the heap.js snippet."""
