"""Taxes: the merchant's rates, each variant's tax class, and the tax of every order."""
