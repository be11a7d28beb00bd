"""Discounts: promotions, voucher codes, and the discount each order line was given."""
