"""The GraphQL schema, one folder per business area."""
