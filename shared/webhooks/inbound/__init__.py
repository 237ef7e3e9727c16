"""Inbound registrar webhooks (``POST /v1/hooks/{registrar}``): :mod:`.events` (the header, the signature
check, the event's shape) and :mod:`.receive` (what an event does, and its receipt)."""
