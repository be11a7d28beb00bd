"""Adapters to the outside world, each implementing a port declared in ``domain/``."""
