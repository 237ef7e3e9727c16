"""Webhooks: signed completion callbacks to producers (outbound) and signed registrar events (inbound)."""
