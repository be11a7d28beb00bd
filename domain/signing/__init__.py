"""The keys that sign access tokens, shared by every process on one database."""
