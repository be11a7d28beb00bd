"""Stock per variant and location, and the ledger that explains every unit."""
