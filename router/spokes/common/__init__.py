"""Helpers every spoke may use: request-path validation errors worded like msgspec's, JSON Schema cleaning."""
