"""Helpers every spoke may use: request-path validation errors worded like msgspec's, JSON Schema cleaning,
the token plan, hub blocks walked (hub_blocks) and read as text, client turns merged into hub messages (hub_turns), tool arguments as JSON text, the shared half of machines writing a hub stream."""
