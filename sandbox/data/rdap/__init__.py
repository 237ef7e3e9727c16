"""Real RDAP answers served by sandbox/rdap.py (sources in SOURCES.md)."""
