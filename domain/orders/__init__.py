"""Orders: capture, pricing, reservation and the order lifecycle."""
