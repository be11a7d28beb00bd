"""Per-client budgets per minute: in process, or in Redis so every process shares them."""
