"""The packaged snapshot of Gandi's TLD list (gandi.json; its sources in SOURCES.md)."""
