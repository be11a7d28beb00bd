"""Order edit sessions over GraphQL."""
