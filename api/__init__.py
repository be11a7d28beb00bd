"""The face of the product: the Starlette app, the GraphQL schema, auth and the CLI."""
