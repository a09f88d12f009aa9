"""Captures spread over worker processes and machines, through a queue in Redis (docs/distributed.md)."""
