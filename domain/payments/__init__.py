"""Payments: authorisations, captures, voids and refunds through a gateway port."""
