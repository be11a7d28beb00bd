"""Returns (RMA): request, approve or decline, receive with or without restock, refund."""
