"""Marketplaces: orders imported from them, through the same path as every other order."""
