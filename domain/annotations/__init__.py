"""Tags and metadata on orders, customers and products."""
