"""The HTTP front door: one module per client protocol, plus ops endpoints."""
