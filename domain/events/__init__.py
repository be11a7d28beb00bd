"""Order events (the audit trail), the outbox, and the relay that publishes it."""
