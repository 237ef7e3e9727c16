"""``regq api``: the HTTP API for producers in any language (FastAPI app, auth, CLI wiring)."""
