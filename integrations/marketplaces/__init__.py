"""Marketplace adapters behind the port of ``domain/marketplaces/ports.py``."""
