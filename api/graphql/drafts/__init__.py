"""Draft orders over GraphQL."""
