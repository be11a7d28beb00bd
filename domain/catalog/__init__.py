"""Catalogue and places: channels, locations, products and their variants."""
