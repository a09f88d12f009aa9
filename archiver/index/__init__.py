"""The derived index (SQLite, rebuilt from manifests and WARC files): lookup by SURT key, TimeMaps,
the nearest capture, full-text search, and the dedup lookup of earlier payloads."""
