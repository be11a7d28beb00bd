"""Choosing the locations that serve an order."""
