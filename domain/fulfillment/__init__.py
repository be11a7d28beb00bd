"""Fulfilment: shipments from the locations holding an order's stock, and their tracking."""
