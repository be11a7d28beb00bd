"""Editing placed orders before fulfilment: staged sessions, calculated, then committed."""
