"""Carrier adapters behind the carrier port of ``domain/fulfillment/ports.py``."""
