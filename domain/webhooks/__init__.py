"""Outbound webhooks: partners subscribe to events and receive signed deliveries."""
