"""Idempotency keys: a repeated request returns the first result and changes nothing."""
