"""Invoices and credit notes: issued with the payment or shipment that owes them."""
