"""Payment gateway adapters behind the port of ``domain/payments/ports.py``."""
