"""Availability cache adapters: in-process (embedded default) and Redis (shared by processes)."""
