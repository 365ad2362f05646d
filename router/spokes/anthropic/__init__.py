"""The Anthropic Messages spoke: the hub's own protocol, so it converts nothing."""
