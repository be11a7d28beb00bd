"""Risk screening: the assessment on orders, the merchant's settings."""
