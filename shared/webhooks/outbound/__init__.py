"""Outbound completion webhooks: :mod:`.dispatcher` (claim an outbox row, sign its body, record the
attempt) over :mod:`.sender` (one POST under the outbound policy, and the retry schedule)."""
