"""What an operator sees of the running service: logs, request ids and metrics."""
