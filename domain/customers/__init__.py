"""Customers, created or matched by email when they order."""
