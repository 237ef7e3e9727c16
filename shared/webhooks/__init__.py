"""Webhooks over one signature scheme (:mod:`.signature`, standard library only, copyable by receivers):
``outbound`` signs and sends the completion callbacks the store's outbox holds; ``inbound`` checks and
applies the registrars' signed events. The store never imports this package."""
