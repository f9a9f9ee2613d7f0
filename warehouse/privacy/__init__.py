"""Privacy: user deletion (Heap's User Deletion API and the user page), retention of raw events,
and each environment's privacy settings. Redaction at capture lives with ingestion
(warehouse/ingest/redact.py); the warehouse follows deletions at the next sync
(warehouse/sync/deletions.py). docs/privacy.md describes it all."""
