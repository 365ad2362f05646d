"""Structural rewrites in plain Python, one module per protocol pair and direction. Each module
exposes `FUNCTIONS`, the read-only registry the field tables in schemas/ may call."""
