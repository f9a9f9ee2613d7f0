"""Segment's HTTP Tracking API (`/v1/*`, the one RudderStack speaks too), onto the raw store: docs/api.md."""
