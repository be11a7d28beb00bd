"""Event bus adapters: in-process (embedded default) and Redis pub/sub (several processes)."""
