"""The IANA RDAP bootstrap snapshot shipped with regq (package data; sources in SOURCES.md)."""
