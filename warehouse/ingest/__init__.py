"""The ingestion API: heap.js batches (/api/collect) and the server APIs (docs/api.md)."""
